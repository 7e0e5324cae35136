import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GraphResource } from '../../graph/resource-graph';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import { directoryPlugin, restoreTempPrefix } from '../../plugins/directory/directory-plugin';
import type { Operation } from '../../plugins/types';
import { dataPluginDeps, hookContext } from '../support/data-deps';
import { testEnv } from '../support/env';
import { describeTree, makeTree } from '../support/trees';

// The directory plugin's hooks called as a retried activity would call them, after an
// attempt that died part-way (its temporary files are still there).
describe('Karbor::Directory hooks retried after a dead attempt (real redis-server)', () => {
  let deps: DataPluginDeps;
  let close: () => Promise<void>;
  const work = () => path.join(testEnv.workDir, 'directory-retry');
  const src = () => path.join(work(), 'src');
  const resource = (): GraphResource => ({ id: src(), type: 'Karbor::Directory', name: 'src' });

  const ctx = (operation: Operation, attempt: number, restoreTarget?: string) =>
    hookContext(deps, {
      operation,
      operationId: operation === 'restore' ? 'restore-1' : 'cp-1',
      checkpointId: 'cp-1',
      resource: resource(),
      attempt,
      ...(restoreTarget ? { restoreTarget } : {}),
    });

  before(async () => {
    ({ deps, close } = await dataPluginDeps('directory-retry', path.join(work(), 'data')));
    fs.mkdirSync(path.join(work(), 'outside'), { recursive: true });
    makeTree(src(), path.join(work(), 'outside'));
  });
  after(() => close());

  it('a retried restore leaves none of the dead attempt’s files in the tree', async () => {
    const plugin = directoryPlugin(deps);
    await plugin.operations.protect!.onMain!(ctx('protect', 1));
    const target = path.join(work(), 'restored');
    const prefix = restoreTempPrefix('restore-1', src());
    // What a worker killed mid-restore leaves: half-written files under temporary names.
    for (const dir of ['.', 'data', 'etc/conf.d']) {
      fs.mkdirSync(path.join(target, dir), { recursive: true });
      fs.writeFileSync(path.join(target, dir, `${prefix}dead`), 'half a file');
    }
    await plugin.operations.restore!.onMain!(ctx('restore', 2, target));
    assert.deepEqual(describeTree(target), describeTree(src()));
  });
});
