// The fleet (npm run test:fleet): a Temporal server built from the Go module proxy with
// PostgreSQL and mTLS, Redis with a replica and Sentinels, and worker processes of two
// simulated hosts. Tests run in order; each leaves the fleet as the next expects.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { workflowMetadataQuery } from '@temporalio/workflow';
import type { Plan } from '../../common/documents';
import { configFromEnv } from '../../common/config';
import type { KarborConfig } from '../../common/config';
import { ProtectionService } from '../../client/protection-service';
import {
  connectFleet,
  fleetDown,
  fleetUp,
  startFleetWorker,
  stopFleetWorker,
} from '../../scripts/fleet';
import type { FleetState, FleetWorker } from '../../scripts/fleet';
import { sentinelPrimaryPort } from '../../scripts/redis-topologies';
import { workflowIds } from '../../workflows/ids';
import { karbor, waitResult } from '../support/cli';
import { eventually, FS_PROVIDER, testEnv, WORKER_MAIN } from '../support/env';
import { hookPlacements, hostOfIdentity, restoreEachHost } from '../support/history';
import { NOOP_PROVIDER_ID } from '../support/noop';
import { describeTree, hostsPlan, makeTree } from '../support/trees';
import { startWorkerProcess } from '../support/worker-process';

const BUILD_1 = 'fleet-build-1';
const BUILD_2 = 'fleet-build-2';

const pidOfIdentity = (identity: string) => Number(identity.slice(0, identity.indexOf('@')));

describe('a fleet: Temporal with PostgreSQL and mTLS, Redis with Sentinel, two hosts', () => {
  let fleet: FleetState;
  let cfg: KarborConfig;
  let svc: ProtectionService;
  const hogs: ChildProcess[] = [];
  const appDir = (host: string) => path.join(fleet.hostRoots[host]!, 'srv', 'app');
  const workersOf = (host: string) => fleet.workers.filter((w) => w.host === host);
  const placements = (workflowId: string) =>
    hookPlacements(cfg, workflowId, () => connectFleet(fleet));

  before(async () => {
    fleet = await fleetUp({ runDir: path.join(testEnv.workDir, 'fleet'), buildId: BUILD_1 });
    cfg = configFromEnv({ ...fleet.env });
    svc = await ProtectionService.connect(cfg);
    for (const host of ['host-a', 'host-b']) {
      const outside = path.join(fleet.hostRoots[host]!, 'outside');
      fs.mkdirSync(outside, { recursive: true });
      makeTree(appDir(host), outside);
      fs.writeFileSync(path.join(appDir(host), 'whose'), host);
    }
  });
  after(async () => {
    for (const h of hogs) h.kill('SIGKILL');
    await svc?.close();
    if (fleet) await fleetDown(fleet.runDir);
  });

  const appPlan = (id: string): Plan => hostsPlan(id, cfg.projectId, appDir);

  const noopOn = (id: string, resources: { id: string; host?: string; deps?: string[] }[]) => ({
    id,
    name: id,
    provider_id: NOOP_PROVIDER_ID,
    project_id: cfg.projectId,
    resources: resources.map((r) => ({
      id: r.id,
      type: 'Karbor::Noop',
      name: r.id,
      extra_info: { depends_on: r.deps ?? [], ...(r.host ? { host: r.host } : {}) },
    })),
  });

  async function protect(plan: Plan): Promise<string> {
    const { checkpoint_id } = await svc.executeOperation(plan, 'protect');
    const result = await svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);
    return checkpoint_id;
  }

  /** The running hook of a protect as Temporal sees it: attempt and worker. */
  async function pendingHook(checkpointId: string) {
    const handle = svc.temporal.workflow.getHandle(workflowIds.protect(checkpointId));
    const d = await handle.describe();
    const p = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'runResourceHook');
    return p && p.lastWorkerIdentity
      ? { attempt: p.attempt ?? 1, identity: p.lastWorkerIdentity, state: p.state }
      : undefined;
  }

  const envWithout = (...names: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...fleet.env };
    for (const n of names) delete env[n];
    return env;
  };

  it('client and worker reach the mTLS frontend only with the certificates', async () => {
    const ok = await karbor(['setup'], { ...process.env, ...fleet.env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /namespace default: already there/);

    const noCert = await karbor(
      ['setup'],
      envWithout('TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
    );
    assert.equal(noCert.code, 3, noCert.stderr);
    assert.equal(noCert.stderr.trim().split('\n').length, 1, noCert.stderr);
    assert.match(noCert.stderr, /requires a client certificate \(mTLS\)/);

    const noTls = await karbor(
      ['setup'],
      envWithout(
        'TEMPORAL_TLS_CLIENT_CERT_PATH',
        'TEMPORAL_TLS_CLIENT_KEY_PATH',
        'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
        'TEMPORAL_TLS_SERVER_NAME',
      ),
    );
    assert.equal(noTls.code, 3, noTls.stderr);
    assert.match(noTls.stderr, /the server requires TLS/);

    const worker = startWorkerProcess({
      ...envWithout('TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
      KARBOR_WORKER_HOST: 'host-a',
    });
    const exit = await worker.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /requires a client certificate/);
    assert.ok(fs.existsSync(WORKER_MAIN));
  });

  let appCheckpoint: string;

  it('protects each host’s directory on a worker of that host, and restores it', async () => {
    // From the CLI, as an operator would, with the fleet's client environment.
    const planFile = path.join(testEnv.workDir, 'app-plan.json');
    fs.writeFileSync(planFile, JSON.stringify(appPlan('app')));
    const run = await karbor(['protect', planFile, '--json', '--wait'], {
      ...process.env,
      ...fleet.env,
    });
    assert.equal(run.code, 0, run.stderr);
    const made = waitResult<{ id: string; status: string }>(run.stdout);
    assert.equal(made.status, 'available');
    appCheckpoint = made.id;
    const placed = await placements(workflowIds.protect(appCheckpoint));
    assert.equal(placed.length, 2);
    for (const p of placed) {
      const host = p.resource === appDir('host-a') ? 'host-a' : 'host-b';
      assert.equal(p.taskQueue, `${cfg.taskQueue}@${host}`);
      assert.equal(hostOfIdentity(p.identity), host, `${p.resource} ran on ${p.identity}`);
      assert.ok(
        workersOf(host).some((w) => w.pid === pidOfIdentity(p.identity)),
        `${p.identity} is one of ${host}'s fleet workers`,
      );
    }
    await restoreEachHost({
      svc,
      checkpointId: appCheckpoint,
      hosts: ['host-a', 'host-b'],
      dirOf: appDir,
      targetOf: (h) => path.join(fleet.hostRoots[h]!, 'restored'),
      placementsOf: placements,
    });
  });

  it('with host-a’s workers stopped, waits and says so, then finishes when one starts', async () => {
    for (const w of workersOf('host-a')) await stopFleetWorker(fleet, w);
    const { checkpoint_id } = await svc.executeOperation(appPlan('app'), 'protect');
    const workflowId = workflowIds.protect(checkpoint_id);
    await eventually(
      'the protect to say it waits for host-a',
      async () =>
        (await svc.progress(workflowId)).waitingFor?.includes('host-a') ? true : undefined,
      60_000,
    );
    const meta = await svc.temporal.workflow.getHandle(workflowId).query(workflowMetadataQuery);
    assert.match(meta.currentDetails ?? '', /waiting for a worker on host host-a/);
    const shown = await karbor(['checkpoint', 'show', FS_PROVIDER, checkpoint_id, '--json'], {
      ...process.env,
      ...fleet.env,
    });
    const doc = JSON.parse(shown.stdout) as { status: string };
    assert.equal(doc.status, 'protecting', shown.stderr);

    await startFleetWorker(fleet, { name: 'a3', host: 'host-a', buildId: BUILD_1 });
    const result = await svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);
    const a = (await placements(workflowId)).find((p) => p.resource === appDir('host-a'));
    assert.equal(hostOfIdentity(a?.identity ?? ''), 'host-a');
  });

  it('a worker killed mid-hook: another worker of its host takes the hook within 15 s', async () => {
    await startFleetWorker(fleet, { name: 'a4', host: 'host-a', buildId: BUILD_1 });
    const plan = noopOn('dead-worker', [{ id: 'pinned', host: 'host-a' }]);
    (plan as Plan).parameters = { 'Karbor::Noop': { delay_ms: 3000 } };
    const { checkpoint_id } = await svc.executeOperation(plan, 'protect');
    const first = await eventually('the hook to run', () => pendingHook(checkpoint_id), 30_000);
    const victim = fleet.workers.find((w) => w.pid === pidOfIdentity(first.identity))!;
    assert.equal(victim.host, 'host-a');
    await stopFleetWorker(fleet, victim, 'SIGKILL');
    const killedAt = Date.now();
    const retry = await eventually(
      'another host-a worker to take the hook',
      async () => {
        const p = await pendingHook(checkpoint_id);
        return p && p.attempt > first.attempt && pidOfIdentity(p.identity) !== victim.pid
          ? p
          : undefined;
      },
      60_000,
    );
    const tookMs = Date.now() - killedAt;
    process.stderr.write(`fleet: hook of the killed worker taken over after ${tookMs} ms\n`);
    assert.ok(tookMs < 15_000, `taken over after ${tookMs} ms`);
    assert.equal(hostOfIdentity(retry.identity), 'host-a');
    const result = await svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);
  });

  it('a hook busy for long on a loaded machine keeps its worker', async () => {
    // Both cores busy with other work while the hook runs three heartbeat timeouts long.
    for (let i = 0; i < 2; i++) {
      hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    }
    try {
      const plan = noopOn('slow', [{ id: 'slow', host: 'host-a' }]) as Plan;
      plan.parameters = { 'Karbor::Noop': { delay_ms: 8000 } };
      const checkpointId = await protect(plan);
      const placed = await placements(workflowIds.protect(checkpointId));
      assert.deepEqual(
        placed.map((p) => p.attempt),
        [1],
        'one attempt: no takeover of a slow hook',
      );
    } finally {
      for (const h of hogs.splice(0)) h.kill('SIGKILL');
    }
  });

  it('a rolling upgrade: a protect started on build 1 finishes on build 2', async () => {
    // Eight steps one after another, about 4 s each: the upgrade happens in the middle.
    const steps = 8;
    const chain = Array.from({ length: steps }, (_, i) => ({
      id: `step-${i}`,
      ...(i % 2 === 0 ? { host: i % 4 === 0 ? 'host-a' : 'host-b' } : {}),
      deps: i + 1 < steps ? [`step-${i + 1}`] : [],
    }));
    const plan = noopOn('upgrade', chain) as Plan;
    plan.parameters = { 'Karbor::Noop': { delay_ms: 1000 } };
    const { checkpoint_id } = await svc.executeOperation(plan, 'protect');
    const workflowId = workflowIds.protect(checkpoint_id);
    await eventually(
      'two steps done on build 1',
      async () => ((await svc.progress(workflowId)).done >= 2 ? true : undefined),
      60_000,
    );
    const old = [...fleet.workers];
    assert.ok(old.every((w) => w.buildId === BUILD_1));
    const fresh: FleetWorker[] = [];
    for (const host of ['host-a', 'host-b']) {
      fresh.push(await startFleetWorker(fleet, { name: `${host}-v2`, host, buildId: BUILD_2 }));
    }
    for (const w of old) await stopFleetWorker(fleet, w);
    assert.ok(
      fleet.workers.every((w) => w.buildId === BUILD_2),
      'only build 2 runs now',
    );
    const result = await svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);

    const pids = (ws: FleetWorker[]) => new Set(ws.map((w) => w.pid));
    const placed = await placements(workflowId);
    assert.ok(
      placed.some((p) => pids(old).has(pidOfIdentity(p.identity))),
      'build 1 ran hooks',
    );
    assert.ok(
      placed.some((p) => pids(fresh).has(pidOfIdentity(p.identity))),
      'build 2 ran hooks',
    );
    const connection = await connectFleet(fleet);
    try {
      const { Client } = await import('@temporalio/client');
      const history = await new Client({ connection, namespace: cfg.namespace }).workflow
        .getHandle(workflowId)
        .fetchHistory();
      // Each workflow task records the build that ran it (the Worker Deployment version).
      const tasks = (history.events ?? [])
        .map((e) => e.workflowTaskCompletedEventAttributes)
        .filter((a) => !!a);
      const builds = tasks.map((a) => a.workerVersion?.buildId ?? '');
      assert.ok(tasks.every((a) => a.workerDeploymentName === 'karbor'));
      assert.equal(builds[0], BUILD_1, 'the run started on build 1');
      assert.equal(builds[builds.length - 1], BUILD_2, 'build 2 ran the workflow to its end');
      const last = tasks[tasks.length - 1]!.identity ?? '';
      assert.ok(pids(fresh).has(pidOfIdentity(last)), `${last} is a build-2 worker`);
    } finally {
      await connection.close();
    }
  });

  it('the Redis primary killed mid-protect: Sentinel promotes the replica, nothing acknowledged is lost', async () => {
    const sentinels = fleet.redis.processes.filter((p) => p.role === 'sentinel');
    const primary = fleet.redis.processes.find((p) => p.role === 'primary')!;
    const before = await svc.listCheckpoints(FS_PROVIDER, {});
    const acknowledged = before.checkpoints
      .filter((c) => c.status === 'available')
      .map((c) => c.id);
    assert.ok(acknowledged.includes(appCheckpoint));

    const mixed: Plan = {
      ...noopOn('failover', [
        { id: 'f-0', host: 'host-a', deps: ['f-1'] },
        { id: 'f-1', deps: ['f-2'] },
        { id: 'f-2', host: 'host-b' },
      ]),
      parameters: { 'Karbor::Noop': { delay_ms: 1500 } },
    };
    const { checkpoint_id } = await svc.executeOperation(mixed, 'protect');
    await eventually(
      'the protect to be running hooks',
      async () =>
        (await svc.progress(workflowIds.protect(checkpoint_id))).running.length > 0
          ? true
          : undefined,
      30_000,
    );
    process.kill(primary.pid, 'SIGKILL');
    await eventually(
      'Sentinel to promote the replica',
      async () =>
        (await sentinelPrimaryPort(sentinels[0]!.port)) !== primary.port ? true : undefined,
      60_000,
    );
    const result = await svc.waitForProtect(checkpoint_id);
    process.stderr.write(`fleet: the protect across the failover ended ${result.status}\n`);
    assert.ok(['available', 'error'].includes(result.status), JSON.stringify(result));
    const doc = await svc.showCheckpoint(NOOP_PROVIDER_ID, checkpoint_id);
    assert.equal(doc.status, result.status, 'the bank agrees with the workflow');
    if (doc.status === 'available') {
      assert.deepEqual(Object.keys(doc.resources_status).sort(), ['f-0', 'f-1', 'f-2']);
    }

    // Every checkpoint acknowledged before the failover is still there, whole.
    for (const id of acknowledged) {
      const c = await svc.showCheckpoint(FS_PROVIDER, id);
      assert.equal(c.status, 'available', `${id} survived the failover`);
    }
    const target = path.join(fleet.hostRoots['host-b']!, 'after-failover');
    const { restore_id } = await svc.restore({
      providerId: FS_PROVIDER,
      checkpointId: appCheckpoint,
      restoreTarget: {
        [appDir('host-b')]: target,
        [appDir('host-a')]: path.join(fleet.hostRoots['host-a']!, 'after-failover'),
      },
    });
    const restored = await svc.waitForRestore(restore_id);
    assert.equal(restored.status, 'success', JSON.stringify(restored));
    assert.deepEqual(describeTree(target), describeTree(appDir('host-b')));
  });
});
