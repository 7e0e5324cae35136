// bench/datapath: protect, re-protect (unchanged), restore and stored bytes of one
// generated tree (default ~1 GiB: big random files, many small ones, compressible text),
// each next to restic (Debian's package) doing the same on the same tree, as ratios.
//   npm run bench:datapath     (KARBOR_BENCH_MB=256 for a smaller tree, KARBOR_BENCH_ROUNDS=1)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plan } from '../common/documents';
import { treeFingerprint } from '../plugins/directory/tree';
import { withBenchEnv } from './harness';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const TOTAL_MB = Number(process.env.KARBOR_BENCH_MB ?? 1024);

/** 60% large random files, 15% small random files, 25% compressible text. */
function makeTree(root: string): number {
  const mb = 1024 * 1024;
  let bytes = 0;
  const write = (rel: string, data: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
    bytes += data.length;
  };
  const big = Math.max(1, Math.round((TOTAL_MB * 0.6) / 32));
  for (let i = 0; i < big; i++) write(`big/file-${i}.bin`, randomBytes(32 * mb));
  const small = Math.round((TOTAL_MB * 0.15 * mb) / (64 * 1024));
  for (let i = 0; i < small; i++) write(`small/${i % 50}/f-${i}.bin`, randomBytes(64 * 1024));
  const words = ['backup', 'restore', 'checkpoint', 'temporal', 'karbor', 'chunk', 'lease', 'bank'];
  const text = Math.max(1, Math.round((TOTAL_MB * 0.25) / 4));
  for (let i = 0; i < text; i++) {
    const lines: string[] = [];
    let size = 0;
    for (let n = 0; size < 4 * mb; n++) {
      const line = `${n} ${words[n % 8]} ${words[(n * 7) % 8]} ${(n * 2654435761) % 1000003}\n`;
      lines.push(line);
      size += line.length;
    }
    write(`text/log-${i}.txt`, Buffer.from(lines.join('')));
  }
  return bytes;
}

function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

async function timed<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, (performance.now() - t0) / 1000];
}

async function main(): Promise<void> {
  try {
    execFileSync('restic', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('restic not found: apt-get install restic (scripts/bootstrap installs it)');
  }
  await withBenchEnv('datapath', async ({ work, cfg, svc }) => {
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
    const chunkDir = path.join(cfg.dataDir!, FS_PROVIDER);
    const target = path.join(work, 'restored');
    const repo = path.join(work, 'restic-repo');
    const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'bench' };
    const restic = (args: string[]) =>
      execFileSync('restic', ['-q', ...args], { env, stdio: 'ignore' });

    // Each round starts both tools from empty stores; the medians are reported, since one
    // run on a small shared machine swings by tens of percent.
    const rounds = Number(process.env.KARBOR_BENCH_ROUNDS ?? 3);
    const t = { protect: [] as number[], reprotect: [] as number[], restore: [] as number[] };
    const r = { protect: [] as number[], reprotect: [] as number[], restore: [] as number[] };
    let storedAfterFirst = 0;
    let newOnReprotect = 0;
    let resticStored = 0;
    let resticNew = 0;
    for (let round = 0; round < rounds; round++) {
      const [first, tp] = await timed(protect);
      storedAfterFirst = duBytes(chunkDir);
      const [second, trp] = await timed(protect);
      newOnReprotect = duBytes(chunkDir) - storedAfterFirst;
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
      restic(['init']);
      const [, rp] = await timed(() => restic(['backup', tree]));
      resticStored = duBytes(repo);
      const [, rrp] = await timed(() => restic(['backup', tree]));
      resticNew = duBytes(repo) - resticStored;
      const [, rr] = await timed(() => restic(['restore', 'latest', '--target', target]));
      fs.rmSync(target, { recursive: true, force: true });
      r.protect.push(rp);
      r.reprotect.push(rrp);
      r.restore.push(rr);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const tProtect = median(t.protect);
    const tReprotect = median(t.reprotect);
    const tRestore = median(t.restore);
    const rProtect = median(r.protect);
    const rReprotect = median(r.reprotect);
    const rRestore = median(r.restore);

    const rate = (t: number) => mib / t;
    const row = (name: string, ours: number, theirs: number, unit: string, higherIsBetter = true) =>
      console.log(
        `${name.padEnd(22)} ${ours.toFixed(1).padStart(10)} ${theirs.toFixed(1).padStart(10)} ${unit.padEnd(6)} ${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(2).padStart(6)}x`,
      );
    console.log(
      `tree: ${mib.toFixed(0)} MiB in ${treeFingerprint(tree).length} entries; restic ${execFileSync('restic', ['version'], { encoding: 'utf8' }).split(' ')[1]}; median of ${rounds} rounds`,
    );
    console.log('                          karbor     restic unit    ratio (>1: karbor better)');
    row('protect', rate(tProtect), rate(rProtect), 'MiB/s');
    row('re-protect unchanged', rate(tReprotect), rate(rReprotect), 'MiB/s');
    row('restore', rate(tRestore), rate(rRestore), 'MiB/s');
    row('stored', storedAfterFirst / 1024 / 1024, resticStored / 1024 / 1024, 'MiB', false);
    console.log(
      `new bytes stored by the unchanged re-protect: karbor ${(newOnReprotect / 1024).toFixed(0)} KiB, restic ${(resticNew / 1024).toFixed(0)} KiB`,
    );
  });
}

main().catch((err: unknown) => {
  console.error(`bench/datapath: ${(err as Error).message}`);
  process.exit(1);
});
