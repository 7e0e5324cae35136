// A host crash under `appendfsync everysec`, simulated: Redis is killed at a random point of a
// protect or a delete, and restarted from an AOF cut back by 2 s (the last writes are lost,
// though they were acknowledged). After one garbage collection every checkpoint must be in a
// true terminal state that agrees with Temporal, every `available` one must verify and
// restore byte-identical, and no chunk the bank references may be missing from disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../bank/keys';
import { LeaseManager } from '../../bank/leases';
import { ProtectionService } from '../../client/protection-service';
import type { KarborConfig } from '../../common/config';
import type { Plan } from '../../common/documents';
import { connectRedis } from '../../common/redis';
import { treeFingerprint } from '../../plugins/directory/tree';
import { startRedis, stopProcess } from '../../scripts/services';
import type { ServiceProcess } from '../../scripts/services';
import { workflowIds } from '../../workflows/definitions';
import { eventually, FS_PROVIDER, isolatedConfig, startWorker, testEnv } from '../support/env';
import type { RunningWorker } from '../support/env';
import { repositoryView } from '../support/repository';

const TRIALS = Number(process.env.KARBOR_CRASH_TRIALS ?? 30);
const LOST_SECONDS = 2;
/** Directory resources per checkpoint. */
const TREES = 6;
const LEASES = { expireWindowMs: 3_000, renewWindowMs: 1_000, validityWindowMs: 2_000 };

describe('Redis loses its last 2 s of writes at a random point of an operation', () => {
  const work = path.join(testEnv.workDir, 'crash');
  const redisDir = path.join(work, 'redis');
  let redisServer: ServiceProcess;
  let port = 0;
  let cfg: KarborConfig;
  let worker: RunningWorker;
  let svc: ProtectionService;
  let admin: ProtectionService;
  let probe: Redis;
  /** What each checkpoint's tree looked like when it was protected. */
  /** The cut never reaches into the set-up (the worker's published providers). */
  let setupDoneSec = 0;
  const sources = new Map<string, { roots: string[]; fingerprints: string[][] }>();
  /** Available checkpoints already verified and restored (a later crash cannot reach them). */
  const proven = new Set<string>();

  const redisOptions = () => ({
    dir: redisDir,
    port,
    appendfsync: 'everysec' as const,
    aofTimestamps: true,
  });

  before(async () => {
    redisServer = await startRedis({ ...redisOptions(), port: undefined });
    port = redisServer.port;
    cfg = isolatedConfig('crash');
    cfg.redisUrl = `redis://127.0.0.1:${port}`;
    cfg.leases = LEASES;
    cfg.gc = { ...cfg.gc, graceSeconds: 10 };
    worker = await startWorker(cfg);
    svc = await ProtectionService.connect(cfg);
    admin = await ProtectionService.connect({ ...cfg, admin: true });
    probe = await connectRedis(cfg.redisUrl, 'crash-probe');
    setupDoneSec = Math.ceil(Date.now() / 1000);
  });
  after(async () => {
    probe?.disconnect();
    await admin?.close();
    await svc?.close();
    await worker?.stop();
    if (redisServer) await stopProcess(redisServer.pid, 2000);
  });

  /**
   * Fault injection, not synchronisation: the crash comes 1–3.5 s after the operation
   * started, so the 2 s cut (whole seconds) lands from before its start to after its end.
   */
  const crashPoint = () => new Promise((r) => setTimeout(r, randomInt(1000, 3500)));

  /** Final state of each trial's checkpoint, printed so a run shows what it covered. */
  const outcomes: Record<string, number> = {};
  const stateOf = async (id: string) =>
    (await probe.hget(`{${cfg.bankPrefix}}:cpstate:${id}`, 'status')) ?? 'lost';
  function tally(kind: string, before: string, after: string): void {
    const key = before === after ? `${kind} ${after}` : `${kind} ${before}->${after}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }

  /** kill -9, cut the AOF back by LOST_SECONDS, start again on the same port and data. */
  async function crashRedis(): Promise<void> {
    const cutTo = Math.max(Math.floor(Date.now() / 1000) - LOST_SECONDS, setupDoneSec);
    redisServer.child.kill('SIGKILL');
    await new Promise((r) => redisServer.child.once('exit', r));
    const aofDir = path.join(redisDir, 'appendonlydir');
    try {
      execFileSync(
        'redis-check-aof',
        ['--truncate-to-timestamp', String(cutTo), path.join(aofDir, 'appendonly.aof.manifest')],
        { stdio: 'pipe' },
      );
    } catch (err) {
      // Every record of the incremental file is newer than the cut: all of it is lost.
      const said = String((err as { stdout?: Buffer }).stdout ?? '');
      if (!/has nothing before timestamp/.test(said)) throw err;
      for (const f of fs.readdirSync(aofDir).filter((n) => n.endsWith('.incr.aof'))) {
        fs.truncateSync(path.join(aofDir, f), 0);
      }
    }
    redisServer = await startRedis(redisOptions());
  }

  /** Trees of their own for a trial, so its checkpoint's expected contents are known. */
  function makeTrees(name: string): string[] {
    return Array.from({ length: TREES }, (_, t) => {
      const root = path.join(work, 'trees', name, `t${t}`);
      fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
      for (let i = 0; i < 8; i++) {
        fs.writeFileSync(
          path.join(root, i % 3 ? `f${i}` : `sub/f${i}`),
          randomBytes(randomInt(1, 90_000)),
        );
      }
      // Shared with every other trial: chunks reused across checkpoints.
      fs.writeFileSync(path.join(root, 'shared'), Buffer.alloc(200_000, 7));
      return root;
    });
  }

  const plan = (name: string, roots: string[]): Plan => ({
    id: `plan-${name}`,
    name,
    provider_id: FS_PROVIDER,
    project_id: cfg.projectId,
    resources: roots.map((id) => ({ id, type: 'Karbor::Directory', name: path.basename(id) })),
  });

  /**
   * Several trees protected one at a time, so the operation spans a few seconds and the
   * cut often lands inside it.
   */
  async function protectTree(name: string): Promise<string> {
    const roots = makeTrees(name);
    const { checkpoint_id } = await svc.executeOperation(plan(name, roots), 'protect', {
      concurrency: 1,
    });
    sources.set(checkpoint_id, { roots, fingerprints: roots.map((r) => treeFingerprint(r)) });
    return checkpoint_id;
  }

  /** How the workflow ended, as Temporal tells it (waits for it to close). */
  async function closed(workflowId: string): Promise<string> {
    return eventually(
      `${workflowId} to close`,
      async () => {
        const d = await svc.temporal.workflow.getHandle(workflowId).describe();
        return d.status.name === 'RUNNING' ? undefined : d.status.name;
      },
      120_000,
    );
  }

  /** One GC, once no lease is renewed any more; then any delete it resumed runs out. */
  async function settle(ids: string[]): Promise<void> {
    const leases = new LeaseManager(probe, cfg.bankPrefix, LEASES);
    for (const id of ids) {
      await eventually(`lease of ${id} stale`, async () =>
        (await leases.check(id)).state === 'valid' ? undefined : true,
      );
    }
    const report = await admin.collectGarbage(false);
    for (const c of report.checkpoints.filter((x) => x.action === 'resume-delete')) {
      await closed(workflowIds.delete(c.id));
    }
  }

  /** Every checkpoint the bank names is in a true terminal state, and proves it. */
  async function checkBank(trial: string): Promise<void> {
    const page = await admin.listCheckpoints(FS_PROVIDER, { allTenants: true, limit: 1000 });
    for (const doc of page.checkpoints) {
      const where = `${trial}: checkpoint ${doc.id}`;
      assert.ok(
        ['available', 'error', 'error-deleting'].includes(doc.status),
        `${where} is ${doc.status}`,
      );
      if (doc.status !== 'available' || proven.has(doc.id)) continue;
      // Agrees with Temporal: an available checkpoint's protect completed.
      assert.equal(await closed(workflowIds.protect(doc.id)), 'COMPLETED', where);
      await svc.verifyCheckpoint(FS_PROVIDER, doc.id);
      const verdict = await svc.waitForVerify(doc.id);
      assert.equal(verdict.status, 'verified', `${where}: ${verdict.reason}`);
      const source = sources.get(doc.id)!;
      const targets = source.roots.map((_, t) => path.join(work, 'restored', doc.id, `t${t}`));
      const { restore_id } = await svc.restore({
        providerId: FS_PROVIDER,
        checkpointId: doc.id,
        restoreTarget: Object.fromEntries(source.roots.map((r, t) => [r, targets[t]!])),
      });
      assert.equal((await svc.waitForRestore(restore_id)).status, 'success', where);
      targets.forEach((target, t) =>
        assert.deepEqual(
          treeFingerprint(target),
          source.fingerprints[t],
          `${where} restores identical`,
        ),
      );
      fs.rmSync(path.join(work, 'restored', doc.id), { recursive: true, force: true });
      proven.add(doc.id);
    }
    // Every chunk an available checkpoint uses is indexed, in a pack that is on disk. (A
    // checkpoint the rollback sent back to protecting may have claims whose index entries
    // were lost with it: its chunks are written anew, or given back by its delete.)
    const view = await repositoryView(cfg, probe);
    const owned = `{${cfg.bankPrefix}}:owned:${FS_PROVIDER}:`;
    let cursor = '0';
    do {
      const [next, keys] = await probe.scan(cursor, 'MATCH', `${owned}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const checkpoint = key.slice(owned.length).split('/')[0]!;
        const state = new RedisKeys(cfg.bankPrefix).checkpointState(checkpoint);
        if ((await probe.hget(state, 'status')) !== 'available') {
          continue;
        }
        for (const id of await probe.smembers(key)) {
          const where = await view.where(id).catch(() => undefined);
          assert.ok(where && fs.existsSync(where.file), `${trial}: chunk ${id} is gone`);
        }
      }
    } while (cursor !== '0');
  }

  it(`protect: ${TRIALS} crashes at random points end true`, async () => {
    for (let t = 0; t < TRIALS; t++) {
      const trial = `protect trial ${t}`;
      const id = await protectTree(`p${t}`);
      await crashPoint();
      await crashRedis();
      await closed(workflowIds.protect(id));
      const before = await stateOf(id);
      await settle([id]);
      await checkBank(trial);
      tally('protect', before, await stateOf(id));
    }
    process.stdout.write(`crash outcomes: ${JSON.stringify(outcomes)}\n`);
  });

  it(`delete: ${TRIALS} crashes at random points end true`, async () => {
    for (let t = 0; t < TRIALS; t++) {
      const trial = `delete trial ${t}`;
      const id = await protectTree(`d${t}`);
      if ((await svc.waitForProtect(id)).status !== 'available') continue;
      await svc.deleteCheckpoint(FS_PROVIDER, id);
      await crashPoint();
      await crashRedis();
      await closed(workflowIds.delete(id));
      const before = await stateOf(id);
      await settle([id]);
      await checkBank(trial);
      tally('delete', before, await stateOf(id));
    }
    process.stdout.write(`crash outcomes: ${JSON.stringify(outcomes)}\n`);
  });
});
