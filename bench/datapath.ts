// bench/datapath: protect, re-protect (unchanged), restore, stored bytes and files in the
// store of one generated tree (default ~1 GiB: big random files, many small ones, and
// realistic compressible data: source code, logs, CSV), each next to restic doing the same
// on the same tree, as ratios. Both encrypt and compress (restic 0.18's repository v2 with
// compression auto; ours zstd and AES-256-GCM). restic is the newest (0.18.1, built by
// scripts/restic from the Go module proxy into .tools/); Debian's restic, when installed,
// is a second column.
//   npm run bench:datapath     (KARBOR_BENCH_MB=256 for a smaller tree, KARBOR_BENCH_ROUNDS=1)
//   KARBOR_BENCH_BACKEND=s3    both on the S3 backend of one SeaweedFS on this machine
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plan } from '../common/documents';
import { treeFingerprint } from '../plugins/directory/tree';
import { S3Backend } from '../repository/s3-backend';
import { startSeaweed } from '../scripts/seaweedfs';
import type { SeaweedProcess } from '../scripts/seaweedfs';
import { PROJECT_ROOT, stopProcess } from '../scripts/services';
import { withBenchEnv } from './harness';
import type { BenchExtras } from './harness';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const TOTAL_MB = Number(process.env.KARBOR_BENCH_MB ?? 1024);

/** Source files of the installed packages: real code, as a developer's tree holds it. */
function sourceFiles(limitBytes: number): string[] {
  const out: string[] = [];
  let total = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (total >= limitBytes) return;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|ts|json|md|c|h|cc)$/.test(e.name)) {
        out.push(p);
        total += fs.statSync(p).size;
      }
    }
  };
  walk(path.join(__dirname, '..', '..', 'node_modules'));
  return out;
}

/**
 * 50% large random files, 10% small random files, 40% compressible: source code (copied
 * from node_modules), web-server logs and CSV with varying fields (not one repeated line).
 */
function makeTree(root: string): number {
  const mb = 1024 * 1024;
  let bytes = 0;
  const write = (rel: string, data: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
    bytes += data.length;
  };
  const big = Math.max(1, Math.round((TOTAL_MB * 0.5) / 32));
  for (let i = 0; i < big; i++) write(`big/file-${i}.bin`, randomBytes(32 * mb));
  const small = Math.round((TOTAL_MB * 0.1 * mb) / (64 * 1024));
  for (let i = 0; i < small; i++) write(`small/${i % 50}/f-${i}.bin`, randomBytes(64 * 1024));
  const srcRoot = path.join(__dirname, '..', '..', 'node_modules');
  for (const f of sourceFiles(TOTAL_MB * 0.15 * mb)) {
    write(`src/${path.relative(srcRoot, f)}`, fs.readFileSync(f));
  }
  // A deterministic generator: the same tree every run.
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const paths = [
    '/api/v1/orders',
    '/api/v1/users',
    '/static/app.js',
    '/login',
    '/health',
    '/api/v2/search',
  ];
  const agents = [
    'curl/8.5.0',
    'Mozilla/5.0 (X11; Linux x86_64)',
    'kube-probe/1.30',
    'Go-http-client/2.0',
  ];
  const logs = Math.max(1, Math.round((TOTAL_MB * 0.15) / 8));
  for (let i = 0; i < logs; i++) {
    const lines: string[] = [];
    let size = 0;
    for (let n = 0; size < 8 * mb; n++) {
      const t = new Date(Date.UTC(2026, 10, 1) + i * 86_400_000 + n * 137).toISOString();
      const line = `10.${rnd(256)}.${rnd(256)}.${rnd(256)} - - [${t}] "GET ${paths[rnd(6)]}?id=${rnd(100000)} HTTP/1.1" ${[200, 200, 200, 304, 404, 500][rnd(6)]} ${rnd(50000)} "${agents[rnd(4)]}" ${rnd(2000)}ms\n`;
      lines.push(line);
      size += line.length;
    }
    write(`logs/access-${i}.log`, Buffer.from(lines.join('')));
  }
  const csvs = Math.max(1, Math.round((TOTAL_MB * 0.1) / 8));
  for (let i = 0; i < csvs; i++) {
    const lines = ['order_id,customer,sku,quantity,unit_price,currency,created_at\n'];
    let size = 0;
    for (let n = 0; size < 8 * mb; n++) {
      const line = `${i * 1_000_000 + n},cust-${rnd(20000)},SKU-${rnd(5000).toString().padStart(5, '0')},${1 + rnd(20)},${(rnd(100000) / 100).toFixed(2)},${['EUR', 'USD', 'GBP'][rnd(3)]},2026-${1 + rnd(12)}-${1 + rnd(28)}T${rnd(24)}:${rnd(60)}:${rnd(60)}Z\n`;
      lines.push(line);
      size += line.length;
    }
    write(`csv/orders-${i}.csv`, Buffer.from(lines.join('')));
  }
  return bytes;
}

/** Files below a directory (the store's file count). */
function fileCount(dir: string): number {
  return Number(
    execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8', maxBuffer: 1 << 28 })
      .split('\n')
      .filter(Boolean).length,
  );
}

function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

async function timed<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, (performance.now() - t0) / 1000];
}

/** Bytes and objects under a prefix of a bucket. */
async function bucketUsage(
  weed: SeaweedProcess,
  bucket: string,
): Promise<{ bytes: number; files: number }> {
  const backend = new S3Backend({ ...weed, bucket, prefix: '', region: 'us-east-1' });
  let bytes = 0;
  let files = 0;
  for await (const f of backend.list('')) {
    bytes += f.size;
    files++;
  }
  return { bytes, files };
}

/** restic 0.18.1 as scripts/restic builds it. */
const RESTIC = path.join(__dirname, '..', '..', '.tools', 'restic-0.18.1', 'restic');

async function main(): Promise<void> {
  if (!fs.existsSync(RESTIC)) {
    throw new Error(
      `restic 0.18.1 not found at ${RESTIC}: run bash scripts/restic (a Go build, ~2 min)`,
    );
  }
  const onS3 = process.env.KARBOR_BENCH_BACKEND === 's3';
  let weed: SeaweedProcess | undefined;
  /** On S3: a SeaweedFS, and the shipped provider with its repository in a bucket. */
  const extras = async (work: string): Promise<BenchExtras> => {
    if (!onS3) return {};
    weed = await startSeaweed({
      dir: path.join(work, 'weed'),
      logFile: path.join(work, 'weed.log'),
    });
    const providersDir = path.join(work, 'providers');
    fs.mkdirSync(providersDir);
    const shipped = fs.readFileSync(
      path.join(PROJECT_ROOT, 'providers.d', 'filesystem.conf'),
      'utf8',
    );
    const repository = `[repository]\nbackend = s3\nendpoint = ${weed.endpoint}\nbucket = karbor-bench\nauto_init = true\n`;
    fs.writeFileSync(
      path.join(providersDir, 'filesystem.conf'),
      shipped.replace(/^\[repository\][\s\S]*$/m, repository),
    );
    const w = weed;
    return {
      providersDir,
      env: { AWS_ACCESS_KEY_ID: w.accessKeyId, AWS_SECRET_ACCESS_KEY: w.secretAccessKey },
      stop: () => stopProcess(w.pid, 5000),
    };
  };
  await withBenchEnv(
    'datapath',
    async ({ work, cfg, svc }) => {
      const tree = path.join(work, 'tree');
      const bytes = makeTree(tree);
      const mib = bytes / 1024 / 1024;
      const plan: Plan = {
        id: 'bench-tree',
        name: 'tree',
        provider_id: FS_PROVIDER,
        project_id: cfg.projectId,
        resources: [{ id: tree, type: 'Karbor::Directory', name: 'tree' }],
      };
      const protect = async () => {
        const { checkpoint_id } = await svc.executeOperation(plan, 'protect');
        const r = await svc.waitForProtect(checkpoint_id);
        if (r.status !== 'available') throw new Error(`protect failed: ${r.reason}`);
        return checkpoint_id;
      };
      const store = path.join(cfg.dataDir!, FS_PROVIDER, 'repository');
      const target = path.join(work, 'restored');
      const repo = path.join(work, 'restic-repo');
      const env = {
        ...process.env,
        RESTIC_REPOSITORY: weed ? `s3:${weed.endpoint}/restic-bench` : repo,
        ...(weed
          ? { AWS_ACCESS_KEY_ID: weed.accessKeyId, AWS_SECRET_ACCESS_KEY: weed.secretAccessKey }
          : {}),
        RESTIC_PASSWORD: 'bench',
        RESTIC_CACHE_DIR: path.join(work, 'restic-cache'),
      };
      const restic = (args: string[]) =>
        execFileSync(RESTIC, ['-q', ...args], { env, stdio: 'ignore' });

      // Each round starts both tools from empty stores; the medians are reported, since one
      // run on a small shared machine swings by tens of percent.
      const rounds = Number(process.env.KARBOR_BENCH_ROUNDS ?? 3);
      const t = { protect: [] as number[], reprotect: [] as number[], restore: [] as number[] };
      const r = { protect: [] as number[], reprotect: [] as number[], restore: [] as number[] };
      let storedAfterFirst = 0;
      let newOnReprotect = 0;
      let ourFiles = 0;
      let resticStored = 0;
      let resticNew = 0;
      let resticFiles = 0;
      /** What our repository holds: bytes and files (objects). */
      const ours = async () =>
        weed
          ? bucketUsage(weed, 'karbor-bench')
          : { bytes: duBytes(store), files: fileCount(store) };
      const theirs = async () =>
        weed ? bucketUsage(weed, 'restic-bench') : { bytes: duBytes(repo), files: fileCount(repo) };
      if (weed && rounds > 1) throw new Error('on S3, run one round (KARBOR_BENCH_ROUNDS=1)');
      for (let round = 0; round < rounds; round++) {
        fs.rmSync(store, { recursive: true, force: true });
        const [first, tp] = await timed(protect);
        ({ bytes: storedAfterFirst, files: ourFiles } = await ours());
        const [second, trp] = await timed(protect);
        newOnReprotect = (await ours()).bytes - storedAfterFirst;
        const [, tr] = await timed(async () => {
          const { restore_id } = await svc.restore({
            providerId: FS_PROVIDER,
            checkpointId: first,
            restoreTarget: { [tree]: target },
          });
          const res = await svc.waitForRestore(restore_id);
          if (res.status !== 'success') throw new Error(`restore failed: ${res.reason}`);
        });
        if (JSON.stringify(treeFingerprint(target)) !== JSON.stringify(treeFingerprint(tree))) {
          throw new Error('restored tree differs from the original');
        }
        t.protect.push(tp);
        t.reprotect.push(trp);
        t.restore.push(tr);
        for (const id of [first, second]) {
          await svc.deleteCheckpoint(FS_PROVIDER, id);
          await svc.waitForDelete(id);
        }
        fs.rmSync(target, { recursive: true, force: true });

        fs.rmSync(repo, { recursive: true, force: true });
        fs.rmSync(env.RESTIC_CACHE_DIR, { recursive: true, force: true });
        restic(['init']);
        const [, rp] = await timed(() => restic(['backup', tree]));
        ({ bytes: resticStored, files: resticFiles } = await theirs());
        const [, rrp] = await timed(() => restic(['backup', tree]));
        resticNew = (await theirs()).bytes - resticStored;
        const [, rr] = await timed(() => restic(['restore', 'latest', '--target', target]));
        fs.rmSync(target, { recursive: true, force: true });
        r.protect.push(rp);
        r.reprotect.push(rrp);
        r.restore.push(rr);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const rate = (t: number) => mib / t;
      const row = (
        name: string,
        ours: number,
        theirs: number,
        unit: string,
        higherIsBetter = true,
      ) =>
        console.log(
          `${name.padEnd(22)} ${ours.toFixed(1).padStart(10)} ${theirs.toFixed(1).padStart(10)} ${unit.padEnd(6)} ${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(2).padStart(6)}x`,
        );
      console.log(
        `tree: ${mib.toFixed(0)} MiB in ${treeFingerprint(tree).length} entries; restic ${execFileSync(RESTIC, ['version'], { encoding: 'utf8' }).split(' ')[1]} (compression auto), karbor zstd + AES-256-GCM; ${weed ? 'both on S3 (one SeaweedFS)' : 'both on the local disk'}; median of ${rounds} rounds`,
      );
      console.log('                          karbor     restic unit    ratio (>1: karbor better)');
      row('protect', rate(median(t.protect)), rate(median(r.protect)), 'MiB/s');
      row('re-protect unchanged', rate(median(t.reprotect)), rate(median(r.reprotect)), 'MiB/s');
      row('restore', rate(median(t.restore)), rate(median(r.restore)), 'MiB/s');
      row('stored', storedAfterFirst / 1024 / 1024, resticStored / 1024 / 1024, 'MiB', false);
      row('files in the store', ourFiles, resticFiles, 'files', false);
      console.log(
        `new bytes stored by the unchanged re-protect: karbor ${(newOnReprotect / 1024).toFixed(0)} KiB, restic ${(resticNew / 1024).toFixed(0)} KiB`,
      );
    },
    extras,
  );
}

main().catch((err: unknown) => {
  console.error(`bench/datapath: ${(err as Error).message}`);
  process.exit(1);
});
