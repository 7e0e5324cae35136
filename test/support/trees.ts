// Directory trees for data-path tests: made deterministic, compared exactly.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A tree with nested and empty directories, small/large/empty files, links and modes. */
export function makeTree(root: string, outside: string): void {
  fs.mkdirSync(path.join(root, 'etc', 'conf.d'), { recursive: true });
  fs.mkdirSync(path.join(root, 'var', 'empty'), { recursive: true });
  fs.mkdirSync(path.join(root, 'data'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'app.conf'), 'listen = 8080\n');
  fs.writeFileSync(path.join(root, 'etc', 'conf.d', 'empty'), '');
  fs.writeFileSync(path.join(root, 'data', 'big.bin'), randomBytes(3 * 1024 * 1024 + 17));
  fs.writeFileSync(
    path.join(root, 'data', 'copy.bin'),
    fs.readFileSync(path.join(root, 'data', 'big.bin')),
  );
  fs.writeFileSync(path.join(root, 'data', 'small.bin'), randomBytes(4096));
  fs.symlinkSync('../etc/app.conf', path.join(root, 'data', 'link-inside'));
  fs.symlinkSync(outside, path.join(root, 'data', 'link-outside'));
  fs.chmodSync(path.join(root, 'etc', 'app.conf'), 0o640);
  fs.chmodSync(path.join(root, 'data', 'small.bin'), 0o600);
  fs.chmodSync(path.join(root, 'var', 'empty'), 0o700);
  const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
  for (const p of ['etc/app.conf', 'data/big.bin', 'var/empty', 'etc']) {
    fs.utimesSync(path.join(root, p), when, when);
  }
}

/** Every entry under a root with type, mode, mtime, size, link target and content hash. */
export function describeTree(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const full = path.join(root, r);
      const st = fs.lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      const mtime = Math.floor(st.mtimeMs);
      if (st.isSymbolicLink()) out.push(`${r} link -> ${fs.readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.push(`${r} dir ${mode} ${mtime}`);
        visit(r);
      } else {
        const sum = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
        out.push(`${r} file ${mode} ${mtime} ${st.size} ${sum}`);
      }
    }
  };
  visit('');
  return out;
}

export function countFiles(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  }
  return n;
}
