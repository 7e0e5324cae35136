// Build step: bundle the workflow code once (workers then start fast) and copy the bank's
// Lua scripts beside the compiled bank module.
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
}

main().catch((err: unknown) => {
  console.error(`bundle-workflows: ${(err as Error).message}`);
  process.exit(1);
});
