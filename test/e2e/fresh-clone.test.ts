// The main-job command in a fresh copy of this checkout whose parent directory only its owner
// may enter (mode 0700, like root's home): as root the dev PostgreSQL runs as the `postgres`
// system user, which must never need to enter the checkout. The copy holds the files git
// sees here (tracked and untracked-but-not-ignored, as they are now), so this tests the code
// under test; node_modules and .tools are hard-linked in so the bootstrap finds them. It runs
// `npm run demo` on ports of its own, beside any other stack, then `npm run dev:down --
// --purge`; whatever happens, everything it started is stopped and everything it made is
// removed.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  PROJECT_ROOT,
  freePort,
  isAlive,
  portAnswers,
  postgresDirFor,
  stopPostgres,
  stopProcess,
} from '../../scripts/services';
import { testEnv } from '../support/env';

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

interface DevState {
  redis?: { pid: number; port: number };
  postgres?: { port: number; dir: string };
  temporal?: { pid: number; port: number; uiPort: number };
  worker?: { pid: number };
}

/** Runs a command to its end, or kills its whole process group at the deadline. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true, // its own process group, so a deadline stops npm and all below it
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs} ms]`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}

function execOut(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}`));
      else resolve(stdout);
    });
  });
}

/** The checkout's files as git sees them (not node_modules, dist, .tools, .run, .git). */
async function copyCheckout(to: string): Promise<void> {
  const listed = await execOut(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    PROJECT_ROOT,
  );
  for (const rel of new Set(listed.split('\0').filter(Boolean))) {
    const from = path.join(PROJECT_ROOT, rel);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
    fs.cpSync(from, path.join(to, rel), { preserveTimestamps: true, verbatimSymlinks: true });
  }
}

/**
 * Hard links of this checkout's node_modules and .tools (fast, and the copy's own npm ci or
 * reinstall would only unlink them). The package lock gets the mtime of ours, so the
 * bootstrap decides about node_modules as it did here; false when linking is impossible,
 * and then the bootstrap installs everything itself.
 */
async function linkInstalledTools(to: string): Promise<boolean> {
  for (const dir of ['node_modules', '.tools']) {
    const from = path.join(PROJECT_ROOT, dir);
    if (!fs.existsSync(from)) return false;
    try {
      await execOut('cp', ['-al', from, path.join(to, dir)], PROJECT_ROOT);
    } catch {
      fs.rmSync(path.join(to, dir), { recursive: true, force: true });
      return false;
    }
  }
  const ourLock = path.join(PROJECT_ROOT, 'package-lock.json');
  const theirLock = path.join(to, 'package-lock.json');
  if (fs.readFileSync(ourLock).equals(fs.readFileSync(theirLock))) {
    const st = fs.statSync(ourLock);
    fs.utimesSync(theirLock, st.atime, st.mtime);
  }
  return true;
}

/** Four distinct free ports. */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function readDevState(clone: string): DevState {
  try {
    return JSON.parse(fs.readFileSync(path.join(clone, '.run', 'dev.json'), 'utf8')) as DevState;
  } catch {
    return {};
  }
}

function postgresUid(): number {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  return Number(line?.split(':')[2]);
}

describe('npm run demo in a fresh copy of the checkout under a 0700 parent', () => {
  // Under the harness's work directory: the harness removes it even if this file dies.
  const parent = fs.mkdtempSync(path.join(testEnv.workDir, 'fresh-clone-'));
  fs.chmodSync(parent, 0o700);
  const clone = path.join(parent, 'karbor');
  const runDir = path.join(clone, '.run');
  // Nothing of this process's own stack (or a developer's) leaks into the copy's.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !k.startsWith('KARBOR_') &&
        !k.startsWith('TEMPORAL_') &&
        !k.startsWith('npm_') &&
        k !== 'REDIS_URL',
    ),
  );
  let pgDir = '';
  let stateAfterUp: DevState = {};

  after(async () => {
    // Whatever the tests did: dev:down --purge, then stop by pid what is left, then remove.
    const state = readDevState(clone);
    const pgDirs = new Set([pgDir || postgresDirFor(runDir)]);
    if (state.postgres) pgDirs.add(state.postgres.dir);
    if (fs.existsSync(path.join(clone, 'dist', 'scripts', 'dev.js'))) {
      await run(process.execPath, ['dist/scripts/dev.js', 'down', '--purge'], {
        cwd: clone,
        env,
        timeoutMs: 60_000,
      });
    }
    for (const s of [state.worker, state.temporal, state.redis, stateAfterUp.worker]) {
      if (s) await stopProcess(s.pid, 5000);
    }
    for (const dir of pgDirs) {
      await stopPostgres(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    fs.rmSync(parent, { recursive: true, force: true });
  });

  it('installs, builds, starts the stack and restores the sample application equal to the original', async () => {
    await copyCheckout(clone);
    const linked = await linkInstalledTools(clone);
    const [redisPort, temporalPort, uiPort, pgPort] = await freePorts(4);
    Object.assign(env, {
      KARBOR_DEV_REDIS_PORT: String(redisPort),
      KARBOR_DEV_TEMPORAL_PORT: String(temporalPort),
      KARBOR_DEV_UI_PORT: String(uiPort),
      KARBOR_DEV_PG_PORT: String(pgPort),
      KARBOR_REDIS_APPENDFSYNC: 'always',
    });

    const started = Date.now();
    const demo = await run('npm', ['run', 'demo'], {
      cwd: clone,
      env,
      timeoutMs: linked ? 240_000 : 280_000,
    });
    const took = `npm run demo took ${Math.round((Date.now() - started) / 1000)} s`;
    stateAfterUp = readDevState(clone);
    assert.equal(demo.code, 0, `${took}\n${demo.stderr.slice(-4000)}`);
    assert.match(
      demo.stderr,
      /dev: started redis-server on port \d+ \(AOF, appendfsync always\)/,
      'the policy really in effect is printed',
    );
    assert.match(demo.stderr, /demo: checkpoint [0-9a-f-]{36} in Redis: status available/);
    assert.match(demo.stderr, /demo: restored tree .* equals the original: yes/);
    assert.match(
      demo.stderr,
      /demo: restored database karbor_sample_restored_[0-9a-f]{8} dumps identically to karbor_sample: yes/,
    );
    assert.match(demo.stdout.trim().split('\n').at(-1) ?? '', /^[0-9a-f-]{36}$/);

    // PostgreSQL's files live where the user running it can reach them, per checkout.
    assert.ok(stateAfterUp.postgres, 'dev.json records PostgreSQL');
    assert.equal(stateAfterUp.postgres.port, pgPort);
    pgDir = stateAfterUp.postgres.dir;
    assert.equal(pgDir, postgresDirFor(runDir));
    assert.notEqual(pgDir, postgresDirFor(path.join(PROJECT_ROOT, '.run')));
    if (process.getuid?.() === 0) {
      assert.equal(pgDir.startsWith(`${clone}${path.sep}`), false, pgDir);
      const st = fs.statSync(pgDir);
      assert.equal(st.mode & 0o777, 0o700);
      assert.equal(st.uid, postgresUid());
    }
  });

  it('dev:down --purge stops the stack and deletes PostgreSQL’s data directory', async () => {
    const state = stateAfterUp;
    assert.ok(state.redis && state.temporal && state.worker && state.postgres, 'stack was up');
    const down = await run('npm', ['run', 'dev:down', '--', '--purge'], {
      cwd: clone,
      env,
      timeoutMs: 60_000,
    });
    assert.equal(down.code, 0, down.stderr);
    for (const pid of [state.redis.pid, state.temporal.pid, state.worker.pid]) {
      assert.equal(isAlive(pid), false, `pid ${pid} still alive`);
    }
    for (const p of [state.redis.port, state.temporal.port, state.postgres.port]) {
      assert.equal(await portAnswers('127.0.0.1', p), false, `port ${p} still answers`);
    }
    assert.equal(fs.existsSync(state.postgres.dir), false, `${state.postgres.dir} is left`);
  });
});
