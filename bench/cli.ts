// bench/cli: wall time of one `karbor` command, as a user waits for it, next to the Temporal
// CLI's `temporal workflow list` on the same server in the same run. Targets: read commands
// (provider list, checkpoint list) ≤ 0.3 s; a 2-resource `protect --wait` ≤ 0.6 s.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../scripts/services';
import { temporalCliPath } from '../temporal-config/dev-server';
import { NOOP_PROVIDER_ID, noopPlan } from '../test/support/noop';
import { withBenchEnv } from './harness';

const ROUNDS = Number(process.env.KARBOR_BENCH_ROUNDS ?? 7);
const CLI = path.join(PROJECT_ROOT, 'dist', 'client', 'cli.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Median wall time of a command, in seconds, after one warm-up run. Asynchronous: the
 * worker runs in this process and must keep serving while the command waits.
 */
async function time(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t = process.hrtime.bigint();
      execFile(cmd, args, { env }, (err, _out, stderr) =>
        err
          ? reject(new Error(`${args.join(' ')}: ${stderr || err.message}`))
          : resolve(Number(process.hrtime.bigint() - t) / 1e9),
      );
    });
  await once();
  const runs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await once());
  return median(runs);
}

async function main(): Promise<void> {
  await withBenchEnv('cli', async ({ cfg, work }) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: cfg.temporalAddress,
      REDIS_URL: cfg.redisUrl,
      KARBOR_TASK_QUEUE: cfg.taskQueue,
      KARBOR_BANK_PREFIX: cfg.bankPrefix,
      KARBOR_PROJECT_ID: cfg.projectId,
    };
    const planFile = path.join(work, 'plan.json');
    const plan = noopPlan({ a: ['b'], b: [] }, { projectId: cfg.projectId });
    fs.writeFileSync(planFile, JSON.stringify(plan));
    const node = process.execPath;
    const rows: [string, number, number | undefined][] = [
      [
        'temporal workflow list (baseline)',
        await time(
          temporalCliPath(PROJECT_ROOT),
          ['workflow', 'list', '--address', cfg.temporalAddress, '--limit', '10'],
          env,
        ),
        undefined,
      ],
      ['karbor provider list', await time(node, [CLI, 'provider', 'list'], env), 0.3],
      [
        'karbor checkpoint list',
        await time(node, [CLI, 'checkpoint', 'list', NOOP_PROVIDER_ID], env),
        0.3,
      ],
      [
        'karbor protect --wait (2 resources)',
        await time(node, [CLI, 'protect', planFile, '--wait'], env),
        0.6,
      ],
    ];
    const base = rows[0]![1];
    process.stdout.write(`bench/cli: median of ${ROUNDS} runs each, seconds\n`);
    for (const [name, s, target] of rows) {
      const verdict =
        target === undefined
          ? ''
          : s <= target
            ? ` (target ≤ ${target}: met)`
            : ` (target ≤ ${target}: MISSED)`;
      process.stdout.write(
        `  ${name.padEnd(38)} ${s.toFixed(3)}  ${(s / base).toFixed(1)}× temporal${verdict}\n`,
      );
    }
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/cli: ${(err as Error).message}\n`);
  process.exit(1);
});
