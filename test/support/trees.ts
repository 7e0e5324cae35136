// Directory trees for data-path tests: made deterministic, compared exactly.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plan } from '../../common/documents';
import { FS_PROVIDER } from './env';

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

export { treeFingerprint as describeTree } from '../../plugins/directory/tree';

export function countFiles(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  }
  return n;
}

/** A plan of one Karbor::Directory (the Filesystem provider) named `name`. */
export function directoryPlan(name: string, root: string, projectId: string): Plan {
  return {
    id: `plan-${name}`,
    name,
    provider_id: FS_PROVIDER,
    project_id: projectId,
    resources: [{ id: root, type: 'Karbor::Directory', name: path.basename(root) }],
  };
}

/** A plan of one directory per host, each pinned to its host by `extra_info.host`. */
export function hostsPlan(
  id: string,
  projectId: string,
  dirOf: (host: string) => string,
  hosts = ['host-a', 'host-b'],
): Plan {
  return {
    id,
    name: 'app on two hosts',
    provider_id: FS_PROVIDER,
    project_id: projectId,
    resources: hosts.map((host) => ({
      id: dirOf(host),
      type: 'Karbor::Directory',
      name: `app data on ${host}`,
      extra_info: { host },
    })),
  };
}
