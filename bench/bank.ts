// bench/bank: bank operation rates next to redis-benchmark on the same server, and
// list_checkpoints page latency as the bank grows (10k, 100k, 1M checkpoints).
//
//   npm run bench:bank                 (KARBOR_BENCH_SIZES=10000,100000 for a shorter run)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CheckpointCollection } from '../bank/checkpoint-collection';
import { tsKey } from '../bank/keys';
import { RedisBank } from '../bank/redis-bank';
import { bankScripts } from '../bank/scripts';
import { connectRedis } from '../common/redis';
import { startRedis, stopProcess } from '../scripts/services';

const OPS = Number(process.env.KARBOR_BENCH_OPS ?? 200_000);
const CLIENTS = 50;
const SIZES = (process.env.KARBOR_BENCH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const VALUE = { payload: 'x'.repeat(180) };

function redisBenchmark(port: number, args: string[]): number {
  const out = execFileSync(
    'redis-benchmark',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-c',
      String(CLIENTS),
      '-n',
      String(OPS),
      '-q',
      ...args,
    ],
    { encoding: 'utf8' },
  );
  // "SET: 98765.43 requests per second, p50=0.263 msec" (one line per test, \r-separated)
  const rates = [...out.matchAll(/([\d.]+) requests per second/g)].map((m) => Number(m[1]));
  if (rates.length === 0) throw new Error(`cannot read redis-benchmark output: ${out}`);
  return rates[rates.length - 1]!;
}

/** Runs `op` OPS times with CLIENTS calls in flight; returns operations per second. */
async function rate(op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < OPS) await op(next++);
    }),
  );
  return OPS / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-bench-bank-'));
  const server = await startRedis({ dir, appendfsync: 'off' });
  const redis = await connectRedis(`redis://127.0.0.1:${server.port}`, 'bench');
  try {
    const bank = new RedisBank(redis, 'bench');
    const keyOf = (i: number) => `/bench/objects/k${i % 100_000}`;

    // Raw baselines on the same server: plain SET/GET, and the bank's own put script driven
    // by redis-benchmark (same server work as updateObject, no Node client in the way).
    const rawSet = redisBenchmark(server.port, ['-t', 'set', '-r', '100000', '-d', '200']);
    const rawGet = redisBenchmark(server.port, ['-t', 'get', '-r', '100000', '-d', '200']);
    bankScripts(redis); // registers the scripts; SCRIPT LOAD gives the sha for redis-benchmark
    const lua = fs.readFileSync(
      path.join(__dirname, '..', 'bank', 'lua', 'put-object.lua'),
      'utf8',
    );
    const prelude = fs.readFileSync(
      path.join(__dirname, '..', 'bank', 'lua', 'lib', 'lease.lua'),
      'utf8',
    );
    const sha = (await redis.script('LOAD', `${prelude}\n${lua}`)) as string;
    const rawPutScript = redisBenchmark(server.port, [
      '-r',
      '100000',
      'EVALSHA',
      sha,
      '3',
      '{bench}:objects',
      '{bench}:obj:/bench/raw/k__rand_int__',
      '{bench}:lease:-',
      '/bench/raw/k__rand_int__',
      JSON.stringify(VALUE),
      '',
    ]);

    const bankUpdate = await rate((i) => bank.updateObject(keyOf(i), VALUE));
    const bankGet = await rate((i) => bank.getObject(keyOf(i)));

    console.log(`bank operations, ${OPS} each, ${CLIENTS} in flight, one redis-server`);
    console.log('operation             bank ops/s   raw ops/s   ratio  (raw = redis-benchmark)');
    const row = (name: string, mine: number, raw: number, rawName: string) =>
      console.log(
        `${name.padEnd(20)} ${mine.toFixed(0).padStart(11)} ${raw.toFixed(0).padStart(11)}  ${(mine / raw).toFixed(2)}x  vs ${rawName}`,
      );
    row('update_object', bankUpdate, rawSet, 'SET');
    row('update_object', bankUpdate, rawPutScript, 'EVALSHA put-object');
    row('get_object', bankGet, rawGet, 'GET');

    // list_checkpoints page latency as the bank grows.
    const checkpoints = new CheckpointCollection(redis, 'bench');
    const caller = { projectId: 'tenant-a' };
    console.log('\nlist_checkpoints, 100 per page, 1,000 pages at random markers each size');
    console.log(
      'checkpoints      p50 ms   p90 ms   p99 ms    bare p50 bare p99  p99 ratio (bare = ZRANGEBYLEX + MGET)',
    );
    let made = 0;
    const t0 = Date.UTC(2026, 0, 1);
    for (const size of SIZES) {
      while (made < size) {
        const batch = Math.min(2000, size - made);
        await Promise.all(
          Array.from({ length: batch }, (_, j) => {
            const i = made + j;
            return checkpoints.create({
              id: `cp-${i}`,
              leaseOwner: `protect-cp-${i}`,
              providerId: 'prov',
              projectId: i % 10 === 0 ? 'tenant-b' : 'tenant-a',
              plan: { id: `plan-${i % 50}`, name: 'p', provider_id: 'prov', resources: [] },
              resourceGraph: null,
              createdAtMs: t0 + i * 1000,
            });
          }),
        );
        made += batch;
      }
      const latencies: number[] = [];
      // The first 100 pages warm the JIT and connection; only the next 1,000 are timed.
      for (let s = -100; s < 1000; s++) {
        let marker = `cp-${Math.floor(Math.random() * size)}`;
        if (marker.endsWith('0')) marker = `${marker.slice(0, -1)}1`; // a tenant-a checkpoint
        const start = process.hrtime.bigint();
        const page = await checkpoints.list('prov', { limit: 100, marker }, caller);
        if (s >= 0) latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (page.checkpoints.length === 0 && Number(marker.slice(3)) > 200) {
          throw new Error(`empty page after ${marker}`);
        }
      }
      // Baseline beside it: the bare Redis round trips of a page (range read, then MGET of
      // the 100 documents), no parsing, from the same client at the same bank size.
      const bare: number[] = [];
      const lo = '[/indices/by-provider/prov/tenant-a/';
      for (let s = -100; s < 1000; s++) {
        const from = `(/indices/by-provider/prov/tenant-a/${tsKey(t0 / 1000 + Math.floor(Math.random() * size))}`;
        const start = process.hrtime.bigint();
        const keys = await redis.zrangebylex('{bench}:objects', from, `${lo}\x7f`, 'LIMIT', 0, 100);
        if (keys.length > 0) {
          await redis.mget(
            keys.map(
              (k) => `{bench}:obj:/checkpoints/${k.slice(k.lastIndexOf('@') + 1)}/index.json`,
            ),
          );
        }
        if (s >= 0) bare.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      latencies.sort((a, b) => a - b);
      bare.sort((a, b) => a - b);
      const cell = (v: number) => v.toFixed(3).padStart(8);
      console.log(
        `${String(size).padEnd(14)} ${cell(percentile(latencies, 50))} ${cell(percentile(latencies, 90))} ${cell(percentile(latencies, 99))}   ${cell(percentile(bare, 50))} ${cell(percentile(bare, 99))}  ${(percentile(latencies, 99) / percentile(bare, 99)).toFixed(2)}x`,
      );
    }
  } finally {
    redis.disconnect();
    await stopProcess(server.pid, 5000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench/bank: ${(err as Error).message}`);
  process.exit(1);
});
