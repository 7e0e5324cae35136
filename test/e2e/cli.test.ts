import assert from 'node:assert/strict';
import Ajv from 'ajv';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../scripts/services';
import { spawn } from 'node:child_process';
import { ProtectionService } from '../../client/protection-service';
import { karbor, waitResult } from '../support/cli';
import {
  CLI,
  envFor,
  eventually,
  isolatedConfig,
  NOOP_PROVIDER,
  startWorker,
  testEnv,
} from '../support/env';
import type { RunningWorker } from '../support/env';

describe('the karbor CLI', () => {
  const cfg = isolatedConfig('cli');
  const env = envFor(cfg);
  let worker: RunningWorker;
  const dir = path.join(testEnv.workDir, 'cli');
  const planFile = path.join(dir, 'plan.json');

  before(async () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      planFile,
      JSON.stringify({
        id: 'plan-cli',
        name: 'cli',
        provider_id: NOOP_PROVIDER,
        project_id: cfg.projectId,
        resources: [{ id: 'r1', type: 'Karbor::Noop', name: 'r1' }],
      }),
    );
    worker = await startWorker(cfg);
  });
  after(async () => worker?.stop());

  it('prints help and version with exit code 0', async () => {
    const help = await karbor(['--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: karbor/);
    for (const sub of [
      ['protect', '--help'],
      ['checkpoint', 'show', '--help'],
    ]) {
      const r = await karbor(sub, env);
      assert.equal(r.code, 0, `karbor ${sub.join(' ')}`);
      assert.match(r.stdout, /Usage: karbor/);
    }
    const v = await karbor(['--version'], env);
    assert.equal(v.code, 0);
    assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  it('exits 2 on an unknown command', async () => {
    const r = await karbor(['frobnicate'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command/);
  });

  it('protect --wait --json prints status lines, then a summary holding the checkpoint', async () => {
    const r = await karbor(['protect', planFile, '--wait', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.pop()!;
    assert.ok(
      lines.every((l) => l.message_type === 'status' && typeof l.percent_done === 'number'),
    );
    assert.equal(summary.message_type, 'summary');
    assert.equal(summary.resources_done, summary.resources_total);
    assert.equal(typeof summary.seconds, 'number');
    const doc = summary.result as { id: string; status: string };
    assert.equal(doc.status, 'available');
    const shown = await karbor(['checkpoint', 'show', NOOP_PROVIDER, doc.id, '--json'], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as { id: string }).id, doc.id);
  });

  it('lists checkpoints as a table and as JSON, and refuses all tenants to non-admins', async () => {
    const made = await karbor(['protect', planFile, '--wait', '--json'], env);
    assert.equal(made.code, 0, made.stderr);
    const id = waitResult<{ id: string }>(made.stdout).id;
    const table = await karbor(['checkpoint', 'list', NOOP_PROVIDER], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^id\s+status\s+project\s+plan\s+created \(UTC\)\s+duration\s+size/);
    // Creation time to the second, how long the protect took, and how much data it holds.
    assert.match(
      table.stdout,
      new RegExp(
        `${id}\\s+available\\s+${cfg.projectId}\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\d+\\.\\ds\\s+0 B`,
      ),
    );
    const shown = await karbor(['checkpoint', 'show', NOOP_PROVIDER, id], env);
    assert.match(shown.stdout, /^protection_plan\n {2}id +\S+\n/m, 'nested documents as blocks');
    assert.match(shown.stdout, /^resources_status\n {2}\S+ +available$/m);
    assert.doesNotMatch(shown.stdout, /\{"/, 'no one-line JSON');
    const json = await karbor(['checkpoint', 'list', NOOP_PROVIDER, '--json', '--limit', '1'], env);
    assert.equal(json.code, 0, json.stderr);
    const page = JSON.parse(json.stdout) as { checkpoints: { id: string }[]; next_marker?: string };
    assert.equal(page.checkpoints.length, 1);
    const other = await karbor(
      ['--project-id', 'tenant-z', 'checkpoint', 'list', NOOP_PROVIDER, '--json'],
      env,
    );
    assert.deepEqual((JSON.parse(other.stdout) as { checkpoints: unknown[] }).checkpoints, []);
    const denied = await karbor(['checkpoint', 'list', NOOP_PROVIDER, '--all-tenants'], env);
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /all_tenants needs an admin/);
    const admin = await karbor(['checkpoint', 'list', NOOP_PROVIDER, '--all-tenants', '--json'], {
      ...env,
      KARBOR_ADMIN: '1',
    });
    assert.equal(admin.code, 0, admin.stderr);
    const badDate = await karbor(
      ['checkpoint', 'list', NOOP_PROVIDER, '--start-date', 'soon'],
      env,
    );
    assert.equal(badDate.code, 2);
    assert.match(badDate.stderr, /start_date must be a date/);
  });

  it('lists and shows providers and protectable types', async () => {
    const list = await karbor(['provider', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${NOOP_PROVIDER}\\s+Noop Provider`));
    const show = await karbor(['--json', 'provider', 'show', NOOP_PROVIDER], env);
    const doc = JSON.parse(show.stdout) as {
      extended_info_schema: { options_schema: Record<string, unknown> };
    };
    assert.ok(doc.extended_info_schema.options_schema['Karbor::Noop']);
    const missing = await karbor(['provider', 'show', 'nope'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /provider nope not found/);
    const types = await karbor(['--json', 'protectable', 'list'], env);
    assert.ok(
      (JSON.parse(types.stdout) as { name: string }[]).some((t) => t.name === 'Karbor::Noop'),
    );
    const type = await karbor(['protectable', 'show', 'Karbor::Noop'], env);
    assert.equal(type.code, 0, type.stderr);
    const instances = await karbor(['--json', 'protectable', 'instances', 'Karbor::Noop'], env);
    assert.equal(instances.code, 0, instances.stderr);
    assert.deepEqual(
      (JSON.parse(instances.stdout) as { id: string }[]).map((r) => r.id),
      ['app-1', 'db-1'],
    );
    const none = await karbor(['protectable', 'instances', 'Karbor::Tape'], env);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no provider protects resource type Karbor::Tape/);
  });

  it('stores a plan, protects it by id, restores and deletes the checkpoint', async () => {
    const file = path.join(dir, 'stored.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: 'stored',
        provider_id: NOOP_PROVIDER,
        project_id: cfg.projectId,
        resources: [
          { id: 'app', type: 'Karbor::Noop', name: 'app', extra_info: { depends_on: ['db'] } },
          { id: 'db', type: 'Karbor::Noop', name: 'db' },
        ],
      }),
    );
    const created = await karbor(['plan', 'create', file], env);
    assert.equal(created.code, 0, created.stderr);
    const planId = created.stdout.trim();
    assert.match(planId, /^[0-9a-f-]{36}$/);
    const plans = await karbor(['--json', 'plan', 'list'], env);
    assert.ok((JSON.parse(plans.stdout) as { id: string }[]).some((p) => p.id === planId));

    const protect = await karbor(['--json', 'protect', planId, '--wait'], env);
    assert.equal(protect.code, 0, protect.stderr);
    const cp = waitResult<{ id: string; status: string; protection_plan: { id: string } }>(
      protect.stdout,
    );
    assert.equal(cp.status, 'available');
    assert.equal(cp.protection_plan.id, planId);

    const events = await karbor(['checkpoint', 'events', NOOP_PROVIDER, cp.id], env);
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stdout, /Karbor::Noop db\s+prepare_begin\s+start\s+1/);
    assert.equal(events.stdout.trim().split('\n').length, 1 + 2 * 4 * 2);

    const restore = await karbor(
      [
        '--json',
        'restore',
        NOOP_PROVIDER,
        cp.id,
        '--target',
        'db=/tmp/elsewhere',
        '--param',
        'Karbor::Noop#db.delay_ms=10',
        '--wait',
      ],
      env,
    );
    assert.equal(restore.code, 0, restore.stderr);
    const record = waitResult<{
      id: string;
      status: string;
      restore_target: Record<string, string>;
      parameters: Record<string, unknown>;
    }>(restore.stdout);
    assert.equal(record.status, 'success');
    assert.deepEqual(record.restore_target, { db: '/tmp/elsewhere' });
    assert.deepEqual(record.parameters, { 'Karbor::Noop#db': { delay_ms: 10 } });
    // Without --json it says where each resource goes: in place is never silent.
    const plain = await karbor(
      ['restore', NOOP_PROVIDER, cp.id, '--target', 'db=/tmp/elsewhere', '--wait'],
      env,
    );
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /^db: to \/tmp\/elsewhere$/m);
    assert.match(plain.stderr, /^app: in place$/m);
    const restores = await karbor(['restore', 'list'], env);
    assert.match(restores.stdout, new RegExp(`${record.id}\\s+success\\s+${cp.id}`));
    const shown = await karbor(['--json', 'restore', 'show', record.id], env);
    assert.equal((JSON.parse(shown.stdout) as { id: string }).id, record.id);

    const badParam = await karbor(
      ['restore', NOOP_PROVIDER, cp.id, '--param', 'Karbor::Noop.delay_ms=-5'],
      env,
    );
    assert.equal(badParam.code, 2);
    assert.match(badParam.stderr, /delay_ms must be >= 0/);

    // Re-attaching to a checkpoint with nothing running: one summary line with --json.
    const watched = await karbor(['--json', 'checkpoint', 'watch', NOOP_PROVIDER, cp.id], env);
    assert.equal(watched.code, 0, watched.stderr);
    assert.equal(watched.stdout.trim().split('\n').length, 1);
    const line = JSON.parse(watched.stdout) as { running: boolean; result: { status: string } };
    assert.deepEqual([line.running, line.result.status], [false, 'available']);
    const del = await karbor(['checkpoint', 'delete', NOOP_PROVIDER, cp.id, '--wait'], env);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, new RegExp(`${cp.id} deleted`));
    assert.match(
      del.stderr,
      new RegExp(`^checkpoint ${cp.id} deletion started; follow it with`, 'm'),
    );
    const gone = await karbor(['checkpoint', 'show', NOOP_PROVIDER, cp.id], env);
    assert.equal(gone.code, 2);

    const deleted = await karbor(['plan', 'delete', planId], env);
    assert.equal(deleted.code, 0, deleted.stderr);
    const again = await karbor(['plan', 'show', planId], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /plan .* not found/);
  });

  it('refuses a plan with a cycle or an unknown provider with one line and exit code 2', async () => {
    const cyc = path.join(dir, 'cycle.json');
    fs.writeFileSync(
      cyc,
      JSON.stringify({
        id: 'plan-cycle',
        name: 'cycle',
        provider_id: NOOP_PROVIDER,
        project_id: cfg.projectId,
        resources: [
          { id: 'a', type: 'Karbor::Noop', name: 'a', extra_info: { depends_on: ['b'] } },
          { id: 'b', type: 'Karbor::Noop', name: 'b', extra_info: { depends_on: ['a'] } },
        ],
      }),
    );
    const r = await karbor(['protect', cyc], env);
    assert.equal(r.code, 2);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'karbor: resource graph has a cycle: Karbor::Noop a -> Karbor::Noop b -> Karbor::Noop a',
    ]);
    const noProv = path.join(dir, 'noprov.json');
    fs.writeFileSync(
      noProv,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(planFile, 'utf8')), provider_id: 'ghost' }),
    );
    const r2 = await karbor(['protect', noProv], env);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /^karbor: provider ghost not found\n$/);
  });

  it('refuses a malformed plan with one line and exit code 2', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ id: 'x', name: 'x', provider_id: 'p' }));
    const r = await karbor(['protect', bad], env);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /project_id/);
    const notJson = path.join(dir, 'not.json');
    fs.writeFileSync(notJson, '{ nope');
    const r2 = await karbor(['protect', notJson], env);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /not JSON/);
  });

  it('reports a missing checkpoint with exit code 2', async () => {
    const r = await karbor(['checkpoint', 'show', NOOP_PROVIDER, 'no-such-id'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /checkpoint no-such-id not found/);
  });

  it('exits 3 with one line when the service is unreachable', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const r = await karbor(['--address', dead, 'protect', planFile], env);
    assert.equal(r.code, 3);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, new RegExp(`cannot reach Temporal at ${dead.replace(/\./g, '\\.')}`));
  });

  it('stops quietly when its reader goes away (| head): no EPIPE stack trace', async () => {
    const made = await karbor(['protect', planFile, '--wait', '--json'], env);
    const id = waitResult<{ id: string }>(made.stdout).id;
    const child = spawn(process.execPath, [CLI, 'checkpoint', 'events', NOOP_PROVIDER, id], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader is gone before the first line
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
    assert.doesNotMatch(stderr, /EPIPE|at /);
  });

  it('on Ctrl-C during --wait says the operation goes on and how to find it, exit 130', async () => {
    const slow = path.join(dir, 'slow.json');
    fs.writeFileSync(
      slow,
      JSON.stringify({
        id: 'plan-cli-slow',
        name: 'slow',
        provider_id: NOOP_PROVIDER,
        project_id: cfg.projectId,
        resources: [{ id: 'r1', type: 'Karbor::Noop', name: 'r1' }],
        parameters: { 'Karbor::Noop': { delay_ms: 20_000 } },
      }),
    );
    const child = spawn(process.execPath, [CLI, 'protect', slow, '--wait'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const svc = await ProtectionService.connect(cfg);
    try {
      // The id comes first, before any waiting.
      const id = await eventually('the started line', () =>
        Promise.resolve(
          /^checkpoint (\S+) started; follow it with: karbor checkpoint watch \S+ \1$/m.exec(
            stderr,
          )?.[1],
        ),
      );
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      assert.equal(code, 130);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 2, stderr);
      assert.match(
        lines[1]!,
        new RegExp(`goes on. Re-attach with: karbor checkpoint watch ${NOOP_PROVIDER} ${id}$`),
      );
      await svc.cancelCheckpoint(NOOP_PROVIDER, id);
    } finally {
      await svc.close();
    }
  });

  it('says so when no worker answers, and Ctrl-C then says how to find the operation', async () => {
    const child = spawn(process.execPath, [CLI, 'protect', planFile, '--wait'], {
      env: { ...env, KARBOR_TASK_QUEUE: `nobody-${Date.now()}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const id = await eventually('the no-worker notice', () =>
      Promise.resolve(
        /checkpoint (\S+) is not started yet: no worker answers on task queue nobody-/.exec(
          stderr,
        )?.[1],
      ),
    );
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 130);
    assert.match(
      stderr,
      new RegExp(`Find it with: karbor checkpoint watch ${NOOP_PROVIDER} ${id}`),
    );
    const svc = await ProtectionService.connect(cfg);
    try {
      await svc.temporal.workflow.getHandle(`protect-${id}`).terminate('test cleanup');
    } finally {
      await svc.close();
    }
  });

  it('--redis-url overrides the environment, and a bad one is one line, exit 2', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const r = await karbor(['--redis-url', dead, 'provider', 'list'], env);
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`cannot reach Redis at ${dead.replace(/\./g, '\\.')}`));
    const bad = await karbor(['--redis-url', 'foo', 'provider', 'list'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--redis-url must be redis:\/\/host:port/);
  });

  it('prints what its published schemas say: checkpoint, restore and provider documents', async () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const check = async (name: string, doc: unknown) => {
      const r = await karbor(['schema', name], env);
      assert.equal(r.code, 0, r.stderr);
      const validate = ajv.compile(JSON.parse(r.stdout) as object);
      assert.ok(validate(doc), `${name}: ${JSON.stringify(validate.errors)}`);
    };
    const made = await karbor(['protect', planFile, '--wait', '--json'], env);
    const checkpoint = waitResult<{ id: string }>(made.stdout);
    await check('checkpoint', checkpoint);
    const restored = await karbor(
      ['restore', NOOP_PROVIDER, checkpoint.id, '--wait', '--json'],
      env,
    );
    assert.equal(restored.code, 0, restored.stderr);
    await check('restore', waitResult(restored.stdout));
    const provider = await karbor(['provider', 'show', NOOP_PROVIDER, '--json'], env);
    await check('provider', JSON.parse(provider.stdout));
    await check('plan', JSON.parse(fs.readFileSync(planFile, 'utf8')));
    const unknown = await karbor(['schema', 'nothing'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no schema named nothing/);
  });
});
