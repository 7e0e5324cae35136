import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { CLI, envFor, FS_PROVIDER, NOOP_PROVIDER, testEnv, useService } from '../support/env';
import { directoryPlan } from '../support/trees';

/** Runs the CLI on a pseudo-terminal (util-linux `script`): what a person at a terminal sees. */
function onTerminal(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; out: string }> {
  const command = [process.execPath, CLI, ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-qfec', command, '/dev/null'],
      { env: { ...env, COLUMNS: '160', LINES: '40' } },
      (err, stdout) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, out: stdout });
      },
    );
  });
}

/** The screen's successive states of the live line (each redraw starts with CR + clear). */
const redraws = (out: string) =>
  out
    .split('\r\x1b[2K')
    .slice(1)
    .map((s) => s.split(/\r?\n/)[0]!)
    .filter((l) => l && !/^(checkpoint|restore) /.test(l)); // the summary follows the last clear

describe('the CLI at a terminal: live progress line and final summary', () => {
  const fx = useService('tty');
  const tree = () => path.join(testEnv.workDir, 'tty-tree');
  const env = () => envFor(fx.cfg);

  before(() => {
    fs.mkdirSync(path.join(tree(), 'sub'), { recursive: true });
    for (let i = 0; i < 40; i++)
      fs.writeFileSync(path.join(tree(), 'sub', `f${i}`), randomBytes(256 * 1024));
  });

  it('a slow protect: id first, a redrawn line with %, resources and what runs, then a summary', async () => {
    const planFile = path.join(testEnv.workDir, 'tty-slow.json');
    fs.writeFileSync(
      planFile,
      JSON.stringify({
        id: 'plan-tty-slow',
        name: 'slow',
        provider_id: NOOP_PROVIDER,
        project_id: fx.cfg.projectId,
        resources: [
          { id: 'a', type: 'Karbor::Noop', name: 'a', extra_info: { depends_on: ['b'] } },
          { id: 'b', type: 'Karbor::Noop', name: 'b' },
        ],
        parameters: { 'Karbor::Noop': { delay_ms: 700 } },
      }),
    );
    const { code, out } = await onTerminal(['protect', planFile, '--wait'], env());
    assert.equal(code, 0, out);
    const id =
      /^checkpoint (\S+) started; follow it with: karbor checkpoint watch \S+ \1\r?$/m.exec(
        out,
      )?.[1];
    assert.ok(id, out);
    const lines = redraws(out);
    assert.ok(lines.length >= 2, `redrawn: ${JSON.stringify(lines)}`);
    // The last redraw may show the run's final phase when its query lands as it ends.
    for (const l of lines)
      assert.match(l, /^(running|completing|validating|finished) \d+\.\d%, \d\/2 resources/);
    assert.ok(
      lines.some((l) => /, now [ab]/.test(l)),
      JSON.stringify(lines),
    );
    const percents = lines.map((l) => Number(/ (\d+\.\d)%/.exec(l)![1]));
    assert.ok(
      percents.every((p, i) => i === 0 || p >= percents[i - 1]!),
      'never goes back',
    );
    assert.match(out, new RegExp(`checkpoint ${id}: 2/2 resources in \\d+\\.\\ds\\r?\\n`));
    assert.match(out, new RegExp(`^${id} available\\r?$`, 'm'));
  });

  it('a directory protect and restore summarise bytes read, new, deduplicated and files', async () => {
    const plan = path.join(testEnv.workDir, 'tty-dir.json');
    fs.writeFileSync(plan, JSON.stringify(directoryPlan('tty-dir', tree(), fx.cfg.projectId)));
    const first = await onTerminal(['protect', plan, '--wait'], env());
    assert.equal(first.code, 0, first.out);
    assert.match(
      first.out,
      /1\/1 resources in [\d.]+s, 10\.0 MiB read, 10\.0 MiB new in the store, 40 files/,
    );
    const again = await onTerminal(['protect', plan, '--wait'], env());
    assert.match(
      again.out,
      /1\/1 resources in [\d.]+s, 0 B new in the store, 10\.0 MiB deduplicated, 40 files/,
    );
    const id = /^(\S+) available\r?$/m.exec(again.out)![1]!;
    const target = path.join(testEnv.workDir, 'tty-restored');
    const restored = await onTerminal(
      ['restore', FS_PROVIDER, id, '--target', `${tree()}=${target}`, '--wait'],
      env(),
    );
    assert.equal(restored.code, 0, restored.out);
    assert.match(
      restored.out,
      /^restore (\S+) started; follow it with: karbor restore watch \1\r?$/m,
    );
    assert.match(restored.out, /1\/1 resources in [\d.]+s, 10\.0 MiB restored, 40 files/);
  });
});
