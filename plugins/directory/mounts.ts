// Which mount a path lives on, from /proc/self/mountinfo: its filesystem type and whether
// it is read-only. A restore target on a pseudo filesystem (proc, sysfs, …) can make a
// mkdir never return, and one mounted read-only can never be written: both are refused
// before a restore starts.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MountOf {
  mountPoint: string;
  fsType: string;
  readOnly: boolean;
}

/** Filesystems that hold no files of their own: nothing may be restored onto them. */
export const PSEUDO_FILESYSTEMS = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'cgroup',
  'cgroup2',
  'debugfs',
  'tracefs',
  'securityfs',
  'pstore',
  'bpf',
  'configfs',
  'fusectl',
  'mqueue',
  'hugetlbfs',
  'binfmt_misc',
  'autofs',
  'efivarfs',
]);

/** mountinfo escapes spaces, tabs, newlines and backslashes as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount `target` lives on (the longest mount point that contains it), if known. */
export function mountOf(target: string, mountinfo?: string): MountOf | undefined {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return undefined; // not Linux, or no /proc: nothing to judge by
    }
  }
  const abs = path.resolve(target);
  let best: MountOf | undefined;
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const mountPoint = unescape(fields[4] ?? '');
    const options = (fields[5] ?? '').split(',');
    const fsType = right.split(' ')[0] ?? '';
    const inside = mountPoint === '/' || abs === mountPoint || abs.startsWith(`${mountPoint}/`);
    // Later lines are mounted over earlier ones at the same place.
    if (inside && (!best || mountPoint.length >= best.mountPoint.length)) {
      best = { mountPoint, fsType, readOnly: options.includes('ro') };
    }
  }
  return best;
}
