import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { FS_PROVIDER, testEnv, useService } from '../support/env';
import { directoryPlan } from '../support/trees';
import { makeRichTree, NON_UTF8_NAME, SPARSE_SIZE, treeMeta } from '../support/rich-tree';
import type { RichTree } from '../support/rich-tree';

// What restic 0.14 (Debian's) cannot bring back, so its restored tree differs there: a
// symlink target that is not UTF-8 comes back with U+FFFD, and it has no `--sparse`.
const RESTIC_014_GAPS = [/^"odd-link" symlink/, /^"sparse\.img" file/];

describe('Karbor::Directory restores all the metadata restic does (real dev server, restic)', () => {
  const fx = useService('meta');
  const work = () => path.join(testEnv.workDir, 'restore-metadata');
  const src = () => path.join(work(), 'src');
  let rich: RichTree;

  before(() => {
    rich = makeRichTree(src());
  });

  const plan = () => directoryPlan('meta', src(), fx.cfg.projectId);

  it('owners, hard links, holes, xattrs and ACLs, FIFO, device, odd names and the root come back', async () => {
    const { checkpoint_id } = await fx.svc.executeOperation(plan(), 'protect');
    const protect = await fx.svc.waitForProtect(checkpoint_id);
    assert.equal(protect.status, 'available', protect.reason);
    const protectEvents = await fx.svc.checkpointEvents(FS_PROVIDER, checkpoint_id);
    assert.deepEqual(
      protectEvents.filter((e) => e.event === 'warning'),
      [],
      'nothing left out',
    );

    const target = path.join(work(), 'restored');
    const { restore_id } = await fx.svc.restore({
      providerId: FS_PROVIDER,
      checkpointId: checkpoint_id,
      restoreTarget: { [src()]: target },
    });
    await fx.svc.waitForRestore(restore_id);
    const record = await fx.svc.showRestore(restore_id);
    assert.equal(record.status, 'success', JSON.stringify(record.resources_reason));

    const original = treeMeta(src(), { blocks: true });
    assert.deepEqual(treeMeta(target, { blocks: true }), original);
    // The comparer sees what matters (a guard against a listing that cannot differ).
    const line = (re: RegExp) => original.find((l) => re.test(l)) ?? '';
    assert.match(line(/^\. /), /dir mode=750 /);
    assert.match(line(/^"owned\.txt"/), /owner=1234:5678/);
    assert.match(line(/^"sub\/hard-b"/), /hardlink-group="hard-a" links=3/);
    assert.match(line(/^"sparse\.img"/), new RegExp(`size=${SPARSE_SIZE} .* sparse blocks=`));
    assert.match(line(/^"acl\.txt"/), /xattr system\.posix_acl_access=02000000/);
    assert.match(line(/^"pipe"/), /fifo mode=640/);
    assert.match(line(/^"suid"/), /mode=4755/);
    assert.match(line(/^"back\\\\slash\.txt"/), /file/);
    assert.match(line(/^"line\\nbreak\.txt"/), /file/);
    assert.ok(
      fs.existsSync(Buffer.concat([Buffer.from(`${target}/`), NON_UTF8_NAME])),
      'non-UTF-8 name restored byte for byte',
    );
    if (rich.device) assert.match(line(/^"null-dev"/), /char mode=666 .*rdev=1,3/);
    const events = await fx.svc.restoreEvents(restore_id);
    assert.deepEqual(
      events.filter((e) => e.event === 'warning').map((e) => e.error),
      [],
      'everything could be restored (running as root)',
    );

    // restic backs up and restores the same tree; both restored trees agree.
    const env = {
      ...process.env,
      RESTIC_PASSWORD: 'test',
      RESTIC_REPOSITORY: path.join(work(), 'restic-repo'),
      RESTIC_CACHE_DIR: path.join(work(), 'restic-cache'),
    };
    execFileSync('restic', ['init', '-q'], { env });
    execFileSync('restic', ['backup', '-q', src()], { env });
    const resticOut = path.join(work(), 'restic-restored');
    execFileSync('restic', ['restore', 'latest', '--target', resticOut, '-q'], { env });
    const ours = treeMeta(target);
    const theirs = treeMeta(path.join(resticOut, src()));
    assert.equal(theirs.length, ours.length);
    const differ = ours.filter((l, i) => l !== theirs[i]);
    assert.deepEqual(
      differ.filter((l) => !RESTIC_014_GAPS.some((re) => re.test(l))),
      [],
      'restic and Karbor restore the same tree',
    );
  });

  it('tells, as a warning in the operation log, what it left out (a socket)', async () => {
    const tree = path.join(work(), 'with-socket');
    fs.mkdirSync(tree, { recursive: true });
    fs.writeFileSync(path.join(tree, 'kept'), 'data\n');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(tree, 'sock'), resolve));
    try {
      const { checkpoint_id } = await fx.svc.executeOperation(
        {
          ...plan(),
          id: 'plan-socket',
          resources: [{ id: tree, type: 'Karbor::Directory', name: 't' }],
        },
        'protect',
      );
      assert.equal((await fx.svc.waitForProtect(checkpoint_id)).status, 'available');
      const warnings = (await fx.svc.checkpointEvents(FS_PROVIDER, checkpoint_id)).filter(
        (e) => e.event === 'warning',
      );
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!.error ?? '', /not protected: "sock": a socket is not data/);
      assert.equal(warnings[0]!.resource_id, tree);
    } finally {
      server.close();
    }
  });
});
