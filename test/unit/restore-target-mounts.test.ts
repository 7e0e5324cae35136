// A restore target on a pseudo filesystem or a read-only mount is refused before anything
// starts (a mkdir under /proc never returns; a read-only mount can never be written).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { RestoreRefusedError } from '../../common/errors';
import { directoryPlugin } from '../../plugins/directory/directory-plugin';
import type { DataPluginDeps } from '../../plugins/chunk-store/provider-store';
import { mountOf } from '../../plugins/directory/mounts';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw',
  '24 22 0:22 / /sys rw,nosuid shared:3 - sysfs sysfs rw',
  '25 22 8:1 /srv /mnt/ro\\040copy ro,relatime shared:4 - ext4 /dev/sda1 rw',
  '26 22 0:5 / /dev rw,nosuid shared:5 - devtmpfs udev rw',
].join('\n');

const checkRestore = (target: string) =>
  directoryPlugin({} as DataPluginDeps).checkRestore!({
    resource: { id: '/srv/app', type: 'Karbor::Directory', name: 'app' },
    target,
    parameters: {},
    providerConfig: {},
  });

describe('restore targets on pseudo filesystems and read-only mounts', () => {
  const made: string[] = [];
  after(() => {
    for (const m of made.reverse()) {
      try {
        execFileSync('umount', [m]);
      } catch {
        // already gone
      }
    }
  });

  it('finds the mount of a path: the longest mount point, with its type and ro flag', () => {
    assert.deepEqual(mountOf('/proc/karbor-x', MOUNTINFO), {
      mountPoint: '/proc',
      fsType: 'proc',
      readOnly: false,
    });
    assert.equal(mountOf('/sys/kernel', MOUNTINFO)?.fsType, 'sysfs');
    assert.equal(mountOf('/dev/shm/x', MOUNTINFO)?.fsType, 'devtmpfs');
    assert.deepEqual(mountOf('/mnt/ro copy/a', MOUNTINFO), {
      mountPoint: '/mnt/ro copy',
      fsType: 'ext4',
      readOnly: true,
    });
    assert.equal(mountOf('/procfs/x', MOUNTINFO)?.mountPoint, '/');
  });

  it('refuses /proc and /sys targets up front, naming the filesystem', async () => {
    for (const [target, type] of [
      ['/proc/karbor-x', 'proc'],
      ['/sys/karbor-x', 'sysfs'],
    ] as const) {
      await assert.rejects(checkRestore(target), (err: Error) => {
        assert.ok(err instanceof RestoreRefusedError);
        assert.match(err.message, new RegExp(`is on a ${type} filesystem`));
        return true;
      });
    }
  });

  it('refuses a target on a read-only bind mount', async (t) => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'karbor-ro-'));
    const ro = path.join(base, 'ro');
    fs.mkdirSync(ro);
    try {
      execFileSync('mount', ['--bind', base, ro], { stdio: 'ignore' });
      made.push(ro);
      execFileSync('mount', ['-o', 'remount,bind,ro', ro], { stdio: 'ignore' });
    } catch {
      t.skip('bind mounts need root and a mount namespace that allows them');
      return;
    }
    await assert.rejects(checkRestore(path.join(ro, 'restored')), /is on a read-only mount/);
  });
});
