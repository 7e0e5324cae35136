// bench/orchestration: wall time of protect over no-op graphs (chains, wide fan-outs, trees
// of 10, 100 and 1,000 resources) against the ideal: the critical path (in hooks, plus the
// create and complete steps) times one bare activity round trip measured in the same run.
// KARBOR_BENCH_BIG=1 adds a 10,000-resource fan-out (continue-as-new in action).
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { HookSchedule } from '../graph/hook-schedule';
import { noopPlan, shapes } from '../test/support/noop';
import { withBenchEnv } from './harness';

/** Hook rounds with unlimited parallelism: the length of the longest chain of hooks. */
function criticalPath(deps: Record<string, string[]>): number {
  const ids = Object.keys(deps);
  const index = new Map(ids.map((id, i) => [id, i]));
  const children = ids.map((id) => deps[id]!.map((c) => index.get(c)!));
  const s = new HookSchedule({ children }, () => true);
  let rounds = 0;
  let ready = s.takeReady();
  while (ready.length > 0) {
    rounds++;
    for (const t of ready) s.complete(t);
    ready = s.takeReady();
  }
  return rounds;
}

async function main(): Promise<void> {
  await withBenchEnv('orchestration', async ({ cfg, connection, svc, alsoRun }) => {
    alsoRun(
      await Worker.create({
        connection,
        taskQueue: 'bench-calibration',
        workflowsPath: require.resolve('./calibrate-workflow'),
        activities: { ping: async () => {} },
      }),
    );
    const conn = await Connection.connect({ address: cfg.temporalAddress });
    const client = new Client({ connection: conn });
    try {
      // Warm both workers up, then measure the bare round trip.
      await client.workflow.execute('calibrate', {
        taskQueue: 'bench-calibration',
        workflowId: 'warm',
        args: [20],
      });
      const rounds = 200;
      const t0 = performance.now();
      await client.workflow.execute('calibrate', {
        taskQueue: 'bench-calibration',
        workflowId: 'calibrate',
        args: [rounds],
      });
      const rtt = (performance.now() - t0) / rounds;
      const warm = await svc.executeOperation(
        noopPlan(shapes.chain(3), { projectId: 'bench' }),
        'protect',
      );
      await svc.waitForProtect(warm.checkpoint_id);

      console.log(
        `one bare activity round trip: ${rtt.toFixed(2)} ms (${rounds} sequential no-op activities)`,
      );
      console.log(
        'graph              resources  hooks on critical path  wall ms  ideal ms   ratio',
      );
      const sizes = [10, 100, 1000];
      const cases: [string, Record<string, string[]>][] = [];
      for (const n of sizes) {
        cases.push([`chain`, shapes.chain(n)]);
        cases.push([`fan-out`, shapes.fanOut(n - 1)]);
      }
      cases.push(
        ['tree 3x2', shapes.tree(3, 2)],
        ['tree 3x4', shapes.tree(3, 4)],
        ['tree 10x2', shapes.tree(10, 2)],
        ['tree 3x6', shapes.tree(3, 6)],
      );
      if (process.env.KARBOR_BENCH_BIG === '1') cases.push(['fan-out', shapes.fanOut(9999)]);
      for (const [name, deps] of cases) {
        const n = Object.keys(deps).length;
        const path = criticalPath(deps) + 2; // + createCheckpoint and completeCheckpoint
        const start = performance.now();
        const { checkpoint_id, workflow_id } = await svc.executeOperation(
          noopPlan(deps, { projectId: 'bench' }),
          'protect',
          {
            concurrency: 200,
          },
        );
        const result = await svc.waitForProtect(checkpoint_id);
        const wall = performance.now() - start;
        if (result.status !== 'available') throw new Error(`${name} ${n}: ${result.reason}`);
        let runs = 0;
        for await (const _ of client.workflow.list({ query: `WorkflowId="${workflow_id}"` }))
          runs++;
        const ideal = path * rtt;
        console.log(
          `${name.padEnd(18)} ${String(n).padStart(9)} ${String(path).padStart(23)} ${wall.toFixed(0).padStart(8)} ${ideal.toFixed(0).padStart(9)} ${(wall / ideal).toFixed(2).padStart(7)}x${runs > 1 ? `  (${runs} runs, continue-as-new)` : ''}`,
        );
      }
    } finally {
      await conn.close();
    }
  });
}

main().catch((err: unknown) => {
  console.error(`bench/orchestration: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
