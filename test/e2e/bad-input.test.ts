// Every bad input a person could type: exit 2, one line on stderr, nothing written to the
// bank and no workflow started (real dev server, Redis, worker, and the built CLI).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { karbor } from '../support/cli';
import {
  allKeysOf,
  envFor,
  isolatedConfig,
  FS_PROVIDER,
  NOOP_PROVIDER,
  startWorker,
  testEnv,
} from '../support/env';
import type { RunningWorker } from '../support/env';
import { ProtectionService } from '../../client/protection-service';

interface Case {
  name: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

describe('bad input is refused with exit 2 and one line, before anything is written', () => {
  const cfg = isolatedConfig('badin');
  const env = envFor(cfg);
  const dir = path.join(testEnv.workDir, 'bad-input');
  let worker: RunningWorker;
  let svc: ProtectionService;
  let available = '';
  /** An available checkpoint of a directory tree (Filesystem provider). */
  let tree = '';
  const treeSrc = path.join(dir, 'tree');

  const good = {
    id: 'plan-bad-input',
    name: 'bad-input',
    provider_id: NOOP_PROVIDER,
    project_id: cfg.projectId,
    resources: [{ id: 'r1', type: 'Karbor::Noop', name: 'r1' }],
  };
  /** A plan file: the good plan changed by `change`, or raw text. */
  const planFile = (name: string, change: ((p: Record<string, unknown>) => unknown) | string) => {
    const file = path.join(dir, `${name}.json`);
    const body =
      typeof change === 'string' ? change : JSON.stringify(change(structuredClone(good)));
    fs.writeFileSync(file, body);
    return file;
  };
  const resource = (r: Record<string, unknown>) => (p: Record<string, unknown>) => ({
    ...p,
    resources: [{ id: 'r1', type: 'Karbor::Noop', name: 'r1', ...r }],
  });
  const long = (n: number) => 'x'.repeat(n);

  before(async () => {
    fs.mkdirSync(dir, { recursive: true });
    worker = await startWorker(cfg);
    svc = await ProtectionService.connect(cfg);
    const { checkpoint_id } = await svc.executeOperation(good, 'protect');
    assert.equal((await svc.waitForProtect(checkpoint_id)).status, 'available');
    available = checkpoint_id;
    fs.mkdirSync(treeSrc, { recursive: true });
    fs.writeFileSync(path.join(treeSrc, 'file'), 'data\n');
    const treePlan = {
      ...good,
      id: 'plan-bad-input-tree',
      provider_id: FS_PROVIDER,
      resources: [{ id: treeSrc, type: 'Karbor::Directory', name: 'tree' }],
    };
    const started = await svc.executeOperation(treePlan, 'protect');
    assert.equal((await svc.waitForProtect(started.checkpoint_id)).status, 'available');
    tree = started.checkpoint_id;
  });
  after(async () => {
    await svc?.close();
    await worker?.stop();
  });

  it('refuses 60+ bad plans, flags, ids and environment values', async () => {
    const plans: [string, ((p: Record<string, unknown>) => unknown) | string][] = [
      ['not-json', '{ nope'],
      ['array', '[]'],
      ['empty-object', '{}'],
      ['no-project', (p) => ({ ...p, project_id: undefined })],
      ['no-resources', (p) => ({ ...p, resources: undefined })],
      ['empty-resources', (p) => ({ ...p, resources: [] })],
      ['resources-object', (p) => ({ ...p, resources: {} })],
      ['id-space', (p) => ({ ...p, id: 'a b' })],
      ['id-dots', (p) => ({ ...p, id: '../x' })],
      ['id-long', (p) => ({ ...p, id: long(256) })],
      ['name-empty', (p) => ({ ...p, name: '' })],
      ['name-long', (p) => ({ ...p, name: long(256) })],
      ['name-number', (p) => ({ ...p, name: 7 })],
      ['description-long', (p) => ({ ...p, description: long(256) })],
      ['provider-empty', (p) => ({ ...p, provider_id: '' })],
      ['provider-unknown', (p) => ({ ...p, provider_id: 'no-such-provider' })],
      ['project-slash', (p) => ({ ...p, project_id: 'a/b' })],
      ['project-other', (p) => ({ ...p, project_id: 'someone-else' })],
      ['resource-no-type', (p) => ({ ...p, resources: [{ id: 'r1', name: 'r1' }] })],
      ['resource-id-empty', resource({ id: '' })],
      ['resource-id-long', resource({ id: long(4097) })],
      ['resource-type-number', resource({ type: 3 })],
      ['resource-type-unknown', resource({ type: 'Karbor::Nothing' })],
      ['resource-name-long', resource({ name: long(256) })],
      ['resource-null', (p) => ({ ...p, resources: [null] })],
      ['depends-on-string', resource({ extra_info: { depends_on: 'r2' } })],
      ['depends-on-number', resource({ extra_info: { depends_on: [5] } })],
      ['extra-info-list', resource({ extra_info: [] })],
      ['parameters-list', (p) => ({ ...p, parameters: [] })],
      ['parameters-string', (p) => ({ ...p, parameters: { 'Karbor::Noop': 'fast' } })],
      [
        'too-many-resources',
        (p) => ({
          ...p,
          resources: Array.from({ length: 10_001 }, (_, i) => ({
            id: `r${i}`,
            type: 'Karbor::Noop',
            name: `r${i}`,
          })),
        }),
      ],
      ['over-1-mib', JSON.stringify(good) + ' '.repeat(1024 * 1024)],
    ];
    const cp = ['checkpoint'];
    const cases: Case[] = [
      ...plans.map(([name, change]) => ({
        name: `plan ${name}`,
        args: ['protect', planFile(name, change)],
      })),
      ...plans.slice(0, 6).map(([name]) => ({
        name: `plan create ${name}`,
        args: ['plan', 'create', path.join(dir, `${name}.json`)],
      })),
      { name: 'missing plan file', args: ['protect', path.join(dir, 'nope.json')] },
      { name: 'unknown stored plan', args: ['protect', 'no-such-plan'] },
      ...['0', '1001', '-1', 'abc', '1.5'].map((c) => ({
        name: `concurrency ${c}`,
        args: ['protect', planFile('good', (p) => p), '--concurrency', c],
      })),
      {
        name: 'restore target without =',
        args: ['restore', NOOP_PROVIDER, available, '--target', 'r1'],
      },
      {
        name: 'restore param without key',
        args: ['restore', NOOP_PROVIDER, available, '--param', 'x=1'],
      },
      { name: 'restore unknown checkpoint', args: ['restore', NOOP_PROVIDER, 'no-such-cp'] },
      {
        name: 'restore target names an unknown resource',
        args: ['restore', NOOP_PROVIDER, available, '--target', 'nope=/srv/restored'],
      },
      {
        name: 'restore param names an unknown resource',
        args: ['restore', NOOP_PROVIDER, available, '--param', 'Karbor::Noop#nope.delay_ms=1'],
      },
      {
        name: 'restore param names an unknown type',
        args: ['restore', NOOP_PROVIDER, available, '--param', 'Karbor::Nothing.x=1'],
      },
      ...['relative/dir', './here', '~/x', `/${long(5000)}`].map((t) => ({
        name: `restore directory target ${t.slice(0, 20)}`,
        args: ['restore', FS_PROVIDER, tree, '--target', `${treeSrc}=${t}`],
      })),
      { name: 'restore wrong provider', args: ['restore', 'no-such-provider', available] },
      { name: 'list unknown provider', args: [...cp, 'list', 'no-such-provider'] },
      { name: 'list limit abc', args: [...cp, 'list', NOOP_PROVIDER, '--limit', 'abc'] },
      {
        name: 'list sort sideways',
        args: [...cp, 'list', NOOP_PROVIDER, '--sort-dir', 'sideways'],
      },
      { name: 'list bad date', args: [...cp, 'list', NOOP_PROVIDER, '--start-date', '2024-13-01'] },
      {
        name: 'list dates reversed',
        args: [
          ...cp,
          'list',
          NOOP_PROVIDER,
          '--start-date',
          '2024-02-01',
          '--end-date',
          '2024-01-01',
        ],
      },
      { name: 'list all tenants', args: [...cp, 'list', NOOP_PROVIDER, '--all-tenants'] },
      {
        name: 'list unknown marker',
        args: [...cp, 'list', NOOP_PROVIDER, '--marker', 'no-such-cp'],
      },
      { name: 'show unknown', args: [...cp, 'show', NOOP_PROVIDER, 'no-such-cp'] },
      { name: 'show path id', args: [...cp, 'show', NOOP_PROVIDER, '../../etc'] },
      {
        name: 'show other project',
        args: ['--project-id', 'tenant-z', ...cp, 'show', NOOP_PROVIDER, available],
      },
      { name: 'delete unknown', args: [...cp, 'delete', NOOP_PROVIDER, 'no-such-cp'] },
      { name: 'verify unknown', args: [...cp, 'verify', NOOP_PROVIDER, 'no-such-cp'] },
      { name: 'cancel finished', args: [...cp, 'cancel', NOOP_PROVIDER, available] },
      { name: 'cancel unknown', args: [...cp, 'cancel', NOOP_PROVIDER, 'no-such-cp'] },
      { name: 'events unknown', args: [...cp, 'events', NOOP_PROVIDER, 'no-such-cp'] },
      {
        name: 'reset-state non-admin',
        args: [...cp, 'reset-state', NOOP_PROVIDER, available, '--state', 'error'],
      },
      {
        name: 'reset-state deleted',
        args: [...cp, 'reset-state', NOOP_PROVIDER, available, '--state', 'deleted'],
        env: { KARBOR_ADMIN: '1' },
      },
      { name: 'reset-state without state', args: [...cp, 'reset-state', NOOP_PROVIDER, available] },
      { name: 'gc non-admin', args: ['gc'] },
      { name: 'restore cancel unknown', args: ['restore', 'cancel', 'no-such-restore'] },
      { name: 'restore show unknown', args: ['restore', 'show', 'no-such-restore'] },
      { name: 'plan show unknown', args: ['plan', 'show', 'no-such-plan'] },
      { name: 'plan delete unknown', args: ['plan', 'delete', 'no-such-plan'] },
      { name: 'unknown command', args: ['frobnicate'] },
      { name: 'missing argument', args: [...cp, 'show', NOOP_PROVIDER] },
      { name: 'unknown option', args: ['protect', '--frob'] },
      {
        name: 'env chunk threads',
        args: ['provider', 'list'],
        env: { KARBOR_CHUNK_THREADS: 'abc' },
      },
      { name: 'env redis url', args: ['provider', 'list'], env: { REDIS_URL: 'foo' } },
      {
        name: 'env lease renew past expire',
        args: ['provider', 'list'],
        env: { KARBOR_LEASE_RENEW_MS: '5000', KARBOR_LEASE_EXPIRE_MS: '3000' },
      },
      {
        name: 'env gc grace negative',
        args: ['provider', 'list'],
        env: { KARBOR_GC_GRACE_S: '-1' },
      },
    ];
    assert.ok(cases.length >= 50, `${cases.length} cases`);

    const keysBefore = await allKeysOf(worker.redis, cfg.bankPrefix);
    const runsBefore = await workflowCount();
    const wrong: string[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async (c) => {
          const r = await karbor(c.args, { ...env, ...c.env });
          const lines = r.stderr.trim().split('\n');
          if (r.code !== 2 || lines.length !== 1 || !lines[0]!.startsWith('karbor: ')) {
            wrong.push(`${c.name}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
          }
        }),
      );
    }
    assert.deepEqual(wrong, []);
    assert.deepEqual(await allKeysOf(worker.redis, cfg.bankPrefix), keysBefore, 'nothing written');
    assert.equal(await workflowCount(), runsBefore, 'no workflow started');
  });

  it('refuses a restore a plugin cannot carry out, before anything is recorded or written', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'not a directory\n');
    const restoresBefore = (await svc.listRestores()).length;
    for (const target of [file, path.join(file, 'below')]) {
      const r = await karbor(
        ['restore', FS_PROVIDER, tree, '--target', `${treeSrc}=${target}`],
        env,
      );
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^karbor: restore target .* (is not a directory|lies below .*, which is not a directory)\n$/,
      );
    }
    assert.equal((await svc.listRestores()).length, restoresBefore, 'no restore recorded');
    assert.equal(fs.readFileSync(file, 'utf8'), 'not a directory\n');
  });

  async function workflowCount(): Promise<number> {
    let n = 0;
    for await (const _ of svc.temporal.workflow.list({ query: `TaskQueue = "${cfg.taskQueue}"` }))
      n++;
    return n;
  }
});
