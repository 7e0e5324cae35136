// Build step: bundle the workflow code once (workers then start fast) and copy the bank's
// Lua scripts beside the compiled bank module.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(): Promise<void> {
  const dist = path.join(__dirname, '..');
  const root = path.join(dist, '..');
  fs.cpSync(path.join(root, 'bank', 'lua'), path.join(dist, 'bank', 'lua'), { recursive: true });
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });
  fs.writeFileSync(path.join(dist, 'workflow-bundle.js'), code);
  fs.writeFileSync(path.join(dist, 'build-info.json'), JSON.stringify({ commit: gitCommit(root) }));
}

/** The checkout's commit, with `-dirty` for uncommitted changes; `unknown` outside git. */
function gitCommit(root: string): string {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const commit = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') === '' ? commit : `${commit}-dirty`;
  } catch {
    return 'unknown';
  }
}

main().catch((err: unknown) => {
  console.error(`bundle-workflows: ${(err as Error).message}`);
  process.exit(1);
});
