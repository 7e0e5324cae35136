import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { workflowMetadataQuery } from '@temporalio/workflow';
import type { Plan } from '../../common/documents';
import { ProtectionService } from '../../client/protection-service';
import { workflowIds } from '../../workflows/ids';
import { CLI, envFor, eventually, FS_PROVIDER, isolatedConfig, testEnv } from '../support/env';
import { karbor } from '../support/cli';
import { hookPlacements, hostOfIdentity, restoreEachHost } from '../support/history';
import { NOOP_PROVIDER_ID, noopPlan } from '../support/noop';
import { hostsPlan, makeTree } from '../support/trees';
import { startWorkerProcess } from '../support/worker-process';

type WorkerProcess = ReturnType<typeof startWorkerProcess>;

/** Worker processes of simulated hosts (KARBOR_WORKER_HOST), stopped at the end. */
function hostWorkers(env: () => NodeJS.ProcessEnv) {
  const all: WorkerProcess[] = [];
  after(() => {
    for (const w of all) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  });
  return {
    async start(host: string, extra: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
      const w = startWorkerProcess({ ...env(), KARBOR_WORKER_HOST: host, ...extra });
      all.push(w);
      await eventually(`the worker of ${host} to poll`, () =>
        Promise.resolve(/polling/.test(w.output()) ? true : undefined),
      );
      return w;
    },
    async stop(w: WorkerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
      w.child.kill(signal);
      await w.exited;
    },
  };
}

describe('host-pinned resources: hooks run on a worker of the resource’s own host', () => {
  const cfg = isolatedConfig('hosts');
  const workers = hostWorkers(() => envFor(cfg));
  const root = () => path.join(testEnv.workDir, 'hosts');
  const dirOf = (host: string) => path.join(root(), host, 'srv', 'app');
  let svc: ProtectionService;
  let workerA: WorkerProcess;

  const plan = (): Plan => hostsPlan('two-hosts', cfg.projectId, dirOf);

  before(async () => {
    for (const host of ['host-a', 'host-b']) {
      fs.mkdirSync(path.join(root(), host, 'outside'), { recursive: true });
      makeTree(dirOf(host), path.join(root(), host, 'outside'));
      fs.writeFileSync(path.join(dirOf(host), 'whose'), host);
    }
    workerA = await workers.start('host-a');
    await workers.start('host-b');
    svc = await ProtectionService.connect(cfg);
  });
  after(() => svc?.close());

  let checkpointId: string;

  it('protects each directory by a worker of its host and restores it there', async () => {
    const { checkpoint_id } = await svc.executeOperation(plan(), 'protect');
    checkpointId = checkpoint_id;
    const result = await svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);

    const placed = await hookPlacements(cfg, workflowIds.protect(checkpoint_id));
    assert.equal(placed.length, 2, 'one hook activity per directory');
    for (const p of placed) {
      const host = p.resource === dirOf('host-a') ? 'host-a' : 'host-b';
      assert.equal(p.taskQueue, `${cfg.taskQueue}@${host}`, `${p.resource} went to its host`);
      assert.equal(hostOfIdentity(p.identity), host, `${p.resource} ran on ${p.identity}`);
    }

    await restoreEachHost({
      svc,
      checkpointId: checkpoint_id,
      hosts: ['host-a', 'host-b'],
      dirOf,
      targetOf: (h) => path.join(root(), h, 'restored'),
      placementsOf: (id) => hookPlacements(cfg, id),
    });
  });

  it('lists a directory type’s instances per host, and names a host with no worker', async () => {
    const env = envFor(cfg);
    const listed = await karbor(['protectable', 'instances', 'Karbor::Directory'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^host\s+id\s+type/m);
    for (const host of ['host-a', 'host-b']) {
      assert.match(listed.stdout, new RegExp(`^${host}\\s+/srv\\s+Karbor::Directory`, 'm'));
    }
    const silent = await karbor(
      ['protectable', 'instances', 'Karbor::Directory', '--host', 'host-z'],
      env,
    );
    assert.equal(silent.code, 1, silent.stderr);
    assert.match(silent.stderr, /host host-z: no worker of host host-z answered within 20 s/);
  });

  it('waits while host-a has no worker, says so, and finishes once one starts', async () => {
    assert.ok(checkpointId, 'the first test made a checkpoint');
    await workers.stop(workerA);
    const { checkpoint_id } = await svc.executeOperation(plan(), 'protect');
    const workflowId = workflowIds.protect(checkpoint_id);
    const progress = await eventually(
      'the protect to say it waits for host-a',
      async () => {
        const p = await svc.progress(workflowId);
        return p.waitingFor?.includes('host-a') ? p : undefined;
      },
      60_000,
    );
    assert.deepEqual(progress.waitingFor, ['host-a'], 'host-b has its worker');
    assert.equal(progress.resources[dirOf('host-b')], 'done', 'host-b did not wait for host-a');
    const meta = await svc.temporal.workflow.getHandle(workflowId).query(workflowMetadataQuery);
    assert.match(meta.currentDetails ?? '', /waiting for a worker on host host-a/);
    // The CLI waiting off a terminal (a script, a cron job) says it too.
    const watch = spawn(
      process.execPath,
      [CLI, 'checkpoint', 'watch', FS_PROVIDER, checkpoint_id],
      { env: envFor(cfg), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let said = '';
    watch.stderr.on('data', (d: Buffer) => (said += d.toString()));
    const watched = new Promise<number | null>((r) => watch.on('exit', r));
    after(() => {
      if (watch.exitCode === null) watch.kill('SIGKILL');
    });
    await eventually(
      'the watching CLI to say it waits',
      () => Promise.resolve(/waiting for a worker on host host-a/.test(said) ? true : undefined),
      30_000,
    );

    await workers.start('host-a');
    const result = await svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);
    assert.equal(await watched, 0, said);
    const placed = await hookPlacements(cfg, workflowId);
    const a = placed.find((p) => p.resource === dirOf('host-a'));
    assert.equal(hostOfIdentity(a?.identity ?? ''), 'host-a');
  });
});

describe('a pinned resource whose host never gets a worker', () => {
  const cfg = isolatedConfig('nohost');
  const workers = hostWorkers(() => ({ ...envFor(cfg), KARBOR_HOST_WAIT_S: '3' }));

  it('fails after the wait limit, naming the host, and the checkpoint ends error', async () => {
    await workers.start('host-a');
    const svc = await ProtectionService.connect(cfg);
    try {
      const plan = noopPlan({ here: [], elsewhere: [] }, { projectId: cfg.projectId });
      plan.resources[1]!.extra_info = { host: 'host-z' };
      const { checkpoint_id } = await svc.executeOperation(plan, 'protect');
      const result = await svc.waitForProtect(checkpoint_id);
      assert.equal(result.status, 'error');
      assert.match(
        result.reason ?? '',
        /elsewhere: waiting for a worker on host host-z: none took its hooks within 3 s/,
      );
      const doc = await svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
      assert.equal(doc.status, 'error');
    } finally {
      await svc.close();
    }
  });

  it('refuses a plan whose host is not a host name, before anything starts', async () => {
    const svc = await ProtectionService.connect(cfg);
    try {
      const plan = noopPlan({ x: [] }, { projectId: cfg.projectId });
      plan.resources[0]!.extra_info = { host: 'a b/../c' };
      await assert.rejects(svc.executeOperation(plan, 'protect'), /must be a host name/);
    } finally {
      await svc.close();
    }
  });
});

describe('a provider whose host setting is not a host name', () => {
  const cfg = isolatedConfig('badhost');
  const providersDir = () => path.join(testEnv.workDir, 'badhost-providers');
  const workers = hostWorkers(() => ({ ...envFor(cfg), KARBOR_PROVIDERS_DIR: providersDir() }));

  it('refuses the protect before the checkpoint exists, naming the setting', async () => {
    fs.mkdirSync(providersDir(), { recursive: true });
    const shipped = path.join(__dirname, '..', '..', '..', 'providers.d', 'filesystem.conf');
    fs.writeFileSync(
      path.join(providersDir(), 'filesystem.conf'),
      fs.readFileSync(shipped, 'utf8').replace('[directory]\n', '[directory]\nhost = my_box\n'),
    );
    await workers.start('host-a');
    const svc = await ProtectionService.connect(cfg);
    try {
      const dir = path.join(testEnv.workDir, 'badhost-tree');
      fs.mkdirSync(dir, { recursive: true });
      const plan: Plan = {
        id: 'bad-host-setting',
        name: 'bad host setting',
        provider_id: FS_PROVIDER,
        project_id: cfg.projectId,
        resources: [{ id: dir, type: 'Karbor::Directory', name: 'tree' }],
      };
      const checkpointId = '0b5e7d39-0000-4000-8000-00000000bad1';
      await assert.rejects(
        svc.executeOperation(plan, 'protect', { checkpointId }),
        /the provider setting host must be a host name/,
      );
      await assert.rejects(svc.showCheckpoint(FS_PROVIDER, checkpointId), /not found/);
    } finally {
      await svc.close();
    }
  });
});
