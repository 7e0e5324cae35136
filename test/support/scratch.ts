// Temporary directories for unit tests, removed when the test process exits (each test
// file runs in its own process), pass or fail.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

export function scratchDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `karbor-${label}-`));
  made.push(dir);
  return dir;
}
