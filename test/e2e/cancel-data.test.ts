// Cancelling a directory protect in the middle of its data: no chunk claim stays behind,
// and the cancelled checkpoint deletes, after garbage collection, down to an empty
// repository (no pack, no temporary file of a pack write the cancel cut short).
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChunkRefs } from '../../bank/chunk-refs';
import { ProtectionService } from '../../client/protection-service';
import type { Plan } from '../../common/documents';
import { eventually, FS_PROVIDER, testEnv, useService } from '../support/env';

describe('cancelling a directory protect mid-data (real dev server, Redis, repository)', () => {
  const fx = useService('cxl', (cfg) => {
    cfg.chunkThreads = 1; // a slower protect: the cancel lands while chunks are written
    cfg.gc = { ...cfg.gc, graceSeconds: 0 };
  });
  const src = () => path.join(testEnv.workDir, 'cancel-data', 'src');
  const packDir = () => path.join(fx.cfg.dataDir!, FS_PROVIDER, 'repository', 'data');
  /** Every file below the pack directory, temporary ones included. */
  const packFiles = () =>
    fs.existsSync(packDir())
      ? fs.readdirSync(packDir()).flatMap((d) => fs.readdirSync(path.join(packDir(), d)))
      : [];
  let admin: ProtectionService;

  before(async () => {
    admin = await ProtectionService.connect({ ...fx.cfg, admin: true });
    fs.mkdirSync(src(), { recursive: true });
    const block = Buffer.alloc(16 * 1024 * 1024);
    for (let f = 0; f < 4; f++) {
      const fd = fs.openSync(path.join(src(), `big${f}`), 'w');
      for (let i = 0; i < 8; i++) fs.writeSync(fd, randomFillSync(block));
      fs.closeSync(fd);
    }
  });
  after(async () => {
    await admin?.close();
    fs.rmSync(src(), { recursive: true, force: true });
  });

  it('leaves no claim, ends error/cancelled, and deletes to nothing', async () => {
    const plan: Plan = {
      id: 'plan-cancel-data',
      name: 'cancel-data',
      provider_id: FS_PROVIDER,
      project_id: fx.cfg.projectId,
      resources: [{ id: src(), type: 'Karbor::Directory', name: 'src' }],
    };
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    const refs = new ChunkRefs(fx.worker.redis, fx.cfg.bankPrefix);
    const owner = `${checkpoint_id}/Karbor::Directory/${src()}`;
    await eventually('chunks being claimed', async () =>
      (await refs.ownedBy(FS_PROVIDER, owner)).length > 0 ? true : undefined,
    );
    await fx.svc.cancelCheckpoint(FS_PROVIDER, checkpoint_id);
    const result = await fx.svc.waitForProtect(checkpoint_id);
    assert.deepEqual(result, { checkpoint_id, status: 'error', reason: 'cancelled' });

    assert.deepEqual(await refs.ownedBy(FS_PROVIDER, owner), [], 'every claim given back');

    await fx.svc.deleteCheckpoint(FS_PROVIDER, checkpoint_id);
    assert.equal((await fx.svc.waitForDelete(checkpoint_id)).status, 'deleted');
    await admin.collectGarbage(false);
    assert.deepEqual(packFiles(), [], 'nothing of the cancelled protect stays');
  });
});
