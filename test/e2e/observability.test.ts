import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProtectionService } from '../../client/protection-service';
import { freePort, startRedis, stopProcess } from '../../scripts/services';
import type { ServiceProcess } from '../../scripts/services';
import { envFor, eventually, isolatedConfig, testEnv } from '../support/env';
import { directoryPlan } from '../support/trees';
import { startWorkerProcess } from '../support/worker-process';

/** One Prometheus sample's value: the line naming `metric` with every label given. */
function sample(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

// A worker process as operators run it: metrics and health on KARBOR_METRICS_ADDRESS,
// JSON log lines on KARBOR_LOG_FORMAT=json, against a Redis this test may stop.
describe('a worker exports metrics, health and JSON logs (real worker process)', () => {
  const cfg = isolatedConfig('observe');
  const work = path.join(testEnv.workDir, 'observe');
  const tree = path.join(work, 'tree');
  let redis: ServiceProcess;
  let worker: ReturnType<typeof startWorkerProcess>;
  let svc: ProtectionService;
  let base = '';
  const treeBytes = 3 * 1024 * 1024 + 11;

  before(async () => {
    fs.mkdirSync(tree, { recursive: true });
    fs.writeFileSync(path.join(tree, 'a.bin'), randomBytes(2 * 1024 * 1024));
    fs.writeFileSync(path.join(tree, 'b.bin'), randomBytes(1024 * 1024 + 11));
    redis = await startRedis({ dir: path.join(work, 'redis'), appendfsync: 'off' });
    cfg.redisUrl = `redis://127.0.0.1:${redis.port}`;
    const address = `127.0.0.1:${await freePort()}`;
    base = `http://${address}`;
    worker = startWorkerProcess({
      ...envFor(cfg),
      KARBOR_METRICS_ADDRESS: address,
      KARBOR_LOG_FORMAT: 'json',
      KARBOR_GC_SCHEDULE: 'off',
    });
    svc = await ProtectionService.connect(cfg);
  });
  after(async () => {
    await svc?.close();
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    if (redis) await stopProcess(redis.pid);
  });

  const get = async (p: string) => {
    const r = await fetch(`${base}${p}`).catch(() => undefined);
    return r ? { status: r.status, body: await r.text() } : { status: 0, body: '' };
  };

  it('is live, and ready once Redis, Temporal and its pollers are', async () => {
    assert.equal(
      (
        await eventually('/healthz', async () => {
          const r = await get('/healthz');
          return r.status === 200 ? r : undefined;
        })
      ).body,
      'ok\n',
    );
    const ready = await eventually(
      '/readyz 200',
      async () => {
        const r = await get('/readyz');
        return r.status === 200 ? r : undefined;
      },
      30_000,
    );
    assert.deepEqual(JSON.parse(ready.body), {
      ready: true,
      checks: { redis: 'ok', temporal: 'ok', pollers: 'ok' },
    });
  });

  it('counts operations, hooks and bytes during and after a protect', async () => {
    const { checkpoint_id } = await svc.executeOperation(
      directoryPlan('observe', tree, cfg.projectId),
      'protect',
    );
    const during = await eventually('a started protect in /metrics', async () => {
      const r = await get('/metrics');
      return sample(r.body, 'karbor_operations_started', { operation: 'protect' }) ? r : undefined;
    });
    assert.equal(sample(during.body, 'karbor_operations_started', { operation: 'protect' }), 1);
    assert.equal((await svc.waitForProtect(checkpoint_id)).status, 'available');
    const done = await eventually('a finished protect in /metrics', async () => {
      const r = await get('/metrics');
      const labels = { operation: 'protect', outcome: 'succeeded' };
      return sample(r.body, 'karbor_operations_finished', labels) === 1 ? r : undefined;
    });
    const m = done.body;
    const dir = { resource_type: 'Karbor::Directory', operation: 'protect' };
    assert.equal(sample(m, 'karbor_bytes_read', dir), treeBytes);
    assert.equal(sample(m, 'karbor_bytes_stored', dir), treeBytes, 'random data: all new');
    assert.equal(
      sample(m, 'karbor_hook_duration_count', { ...dir, hook: 'main', outcome: 'ok' }),
      1,
      m
        .split('\n')
        .filter((l) => l.includes('karbor_hook'))
        .join('\n'),
    );
    assert.ok((sample(m, 'karbor_lease_renewals', {}) ?? 0) >= 0);
    // The SDK runtime's own metrics come through the same endpoint.
    assert.match(m, /^temporal_\w+/m);
  });

  it('logs one JSON object per line, with the run, activity and resource in hook lines', () => {
    const lines = worker.stderr().trim().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(parsed.every((p) => typeof p.ts === 'string' && typeof p.msg === 'string'));
    const hook = parsed.find((p) =>
      /Karbor::Directory .*: protect main started/.test(String(p.msg)),
    );
    assert.ok(hook, 'a hook line');
    assert.equal(hook.resource, tree);
    assert.equal(hook.activityType, 'runResourceHook');
    assert.equal(hook.attempt, 1);
    assert.match(String(hook.workflowId), /^protect-/);
    assert.ok(typeof hook.workflowRunId === 'string' || typeof hook.runId === 'string');
  });

  it('is not ready while Redis is down, and ready again when it returns', async () => {
    const port = redis.port;
    await stopProcess(redis.pid);
    const down = await eventually('/readyz 503', async () => {
      const r = await get('/readyz');
      return r.status === 503 ? r : undefined;
    });
    const body = JSON.parse(down.body) as { ready: boolean; checks: Record<string, string> };
    assert.equal(body.ready, false);
    assert.notEqual(body.checks.redis, 'ok');
    assert.equal((await get('/healthz')).status, 200, 'still live');
    redis = await startRedis({ dir: path.join(work, 'redis'), port, appendfsync: 'off' });
    await eventually(
      '/readyz 200 again',
      async () => {
        const r = await get('/readyz');
        return r.status === 200 ? r : undefined;
      },
      30_000,
    );
  });
});
