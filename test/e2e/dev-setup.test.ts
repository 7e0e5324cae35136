import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { devServerSettings } from '../../temporal-config/dev-server';
import { PROJECT_ROOT, freePort, isAlive, portAnswers } from '../../scripts/services';
import { karbor } from '../support/cli';
import { eventually, testEnv } from '../support/env';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function node(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(PROJECT_ROOT, 'dist', 'scripts', script), ...args],
      { env },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('the dev setup behind the main-job command', () => {
  const runDir = path.join(testEnv.workDir, 'dev-run');
  let env: NodeJS.ProcessEnv = {};

  after(async () => {
    // --purge: as root PostgreSQL's data directory is outside the harness's work directory.
    if (env.KARBOR_RUN_DIR) await node('dev.js', ['down', '--purge'], env);
  });

  it('starts Redis, Temporal and a worker, and a second up reuses the servers', async () => {
    env = {
      ...process.env,
      KARBOR_RUN_DIR: runDir,
      KARBOR_DEV_REDIS_PORT: String(await freePort()),
      KARBOR_DEV_TEMPORAL_PORT: String(await freePort()),
      KARBOR_DEV_UI_PORT: String(await freePort()),
      KARBOR_DEV_PG_PORT: String(await freePort()),
      KARBOR_REDIS_APPENDFSYNC: undefined, // the default, everysec
    };
    const first = await node('dev.js', ['up'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /started redis-server on port \d+ \(AOF, appendfsync everysec\)/);
    const state1 = JSON.parse(fs.readFileSync(path.join(runDir, 'dev.json'), 'utf8')) as {
      redis: { pid: number };
      temporal: { pid: number };
      worker: { pid: number };
    };
    const second = await node('dev.js', ['up'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stderr,
      /redis-server already running on port \d+ \(AOF, appendfsync everysec\)/,
    );
    assert.match(second.stderr, /Temporal dev server already running/);
    const state2 = JSON.parse(
      fs.readFileSync(path.join(runDir, 'dev.json'), 'utf8'),
    ) as typeof state1;
    assert.equal(state2.redis.pid, state1.redis.pid);
    assert.equal(state2.temporal.pid, state1.temporal.pid);
    assert.notEqual(state2.worker.pid, state1.worker.pid, 'the worker is restarted on new code');
    assert.equal(isAlive(state1.worker.pid), false);
    assert.equal(
      fs.readFileSync(
        path.join(runDir, 'redis', 'appendonlydir', 'appendonly.aof.manifest'),
        'utf8',
      ).length > 0,
      true,
    );
  });

  it('the CLI and a hand-started worker find this stack without exported addresses', async () => {
    const state = JSON.parse(fs.readFileSync(path.join(runDir, 'dev.json'), 'utf8')) as {
      redis: { port: number };
      temporal: { port: number };
    };
    const bare = { ...env, TEMPORAL_ADDRESS: undefined, REDIS_URL: undefined };
    const help = await karbor(['--help'], bare);
    assert.match(
      help.stdout,
      new RegExp(
        `Temporal 127\\.0\\.0\\.1:${state.temporal.port}, Redis redis://127\\.0\\.0\\.1:${state.redis.port}`,
      ),
    );
    assert.match(help.stdout, /from .*dev\.json/);
    const list = await karbor(['provider', 'list', '--json'], bare);
    assert.equal(list.code, 0, list.stderr);
    assert.ok((JSON.parse(list.stdout) as unknown[]).length > 0, "the stack's providers");
    // --address and --redis-url win over the stack: both dead here, Redis is tried first.
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const deadTemporal = `127.0.0.1:${await freePort()}`;
    const overridden = await karbor(
      ['--address', deadTemporal, '--redis-url', deadRedis, 'checkpoint', 'cancel', 'p', 'c'],
      bare,
    );
    assert.equal(overridden.code, 3, overridden.stderr);
    assert.ok(overridden.stderr.includes(`cannot reach Redis at ${deadRedis}`), overridden.stderr);
    const viaAddress = await karbor(
      ['--address', deadTemporal, 'protectable', 'instances', 'Karbor::Noop'],
      bare,
    );
    assert.equal(viaAddress.code, 3, viaAddress.stderr);
    assert.ok(viaAddress.stderr.includes(`cannot reach Temporal at ${deadTemporal}`));
    // A worker started by hand joins the same stack.
    const worker = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js')], {
      env: { ...bare, KARBOR_GC_SCHEDULE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      // The worker logs to stderr (its logger's one line per event).
      worker.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const line = await eventually('the worker to say where it polls', () =>
        Promise.resolve(/polling .*/.exec(out)?.[0]),
      );
      assert.match(line, new RegExp(`on 127\\.0\\.0\\.1:${state.temporal.port} `));
      assert.match(line, new RegExp(`redis://127\\.0\\.0\\.1:${state.redis.port}`));
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
  });

  it('protects and restores the sample application: restored tree and database equal the originals', async () => {
    const demo = await node('demo.js', [], env);
    assert.equal(demo.code, 0, demo.stderr);
    const id = demo.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(demo.stderr, new RegExp(`checkpoint ${id} in Redis: status available`));
    assert.match(
      demo.stderr,
      /Web UI \(HTTP 200\): http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/protect-/,
    );
    assert.match(demo.stderr, /restore [0-9a-f-]{36}: success \(.*sample-app success.*\)/);
    assert.match(demo.stderr, /restored tree .* equals the original: yes/);
    assert.match(
      demo.stderr,
      /restored database karbor_sample_restored_[0-9a-f]{8} dumps identically to karbor_sample: yes/,
    );
  });

  it('refuses with a clear message when a port is taken by another program', async () => {
    const other = {
      ...env,
      KARBOR_RUN_DIR: path.join(testEnv.workDir, 'dev-run-2'),
      KARBOR_DEV_REDIS_PORT: env.KARBOR_DEV_REDIS_PORT,
    };
    const r = await node('dev.js', ['up'], other);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /port \d+ for Redis is taken by another program/);
  });

  it('says, and warns, when KARBOR_REDIS_APPENDFSYNC differs from the running server', async () => {
    const r = await node('dev.js', ['up'], { ...env, KARBOR_REDIS_APPENDFSYNC: 'always' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /redis-server already running on port \d+ \(AOF, appendfsync everysec\)/,
    );
    assert.match(r.stderr, /KARBOR_REDIS_APPENDFSYNC=always is not in effect/);
    const bad = await node('dev.js', ['up'], { ...env, KARBOR_REDIS_APPENDFSYNC: 'sometimes' });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /KARBOR_REDIS_APPENDFSYNC=sometimes is not one of always, everysec, no/,
    );
  });

  it('down stops everything it started and keeps the data; down --purge deletes PostgreSQL’s', async () => {
    const state = JSON.parse(fs.readFileSync(path.join(runDir, 'dev.json'), 'utf8')) as {
      redis: { pid: number };
      temporal: { pid: number };
      worker: { pid: number };
      postgres: { port: number; dir: string };
    };
    const r = await node('dev.js', ['down'], env);
    assert.equal(r.code, 0, r.stderr);
    for (const pid of [state.redis.pid, state.temporal.pid, state.worker.pid]) {
      assert.equal(isAlive(pid), false, `pid ${pid} still alive`);
    }
    assert.equal(await portAnswers('127.0.0.1', state.postgres.port), false);
    assert.equal(fs.existsSync(path.join(state.postgres.dir, 'data', 'PG_VERSION')), true);
    const purge = await node('dev.js', ['down', '--purge'], env);
    assert.equal(purge.code, 0, purge.stderr);
    assert.equal(fs.existsSync(state.postgres.dir), false, `${state.postgres.dir} is left`);
  });

  it('the shipped filesystem provider lists the dev PostgreSQL’s databases', () => {
    const conf = fs.readFileSync(path.join(PROJECT_ROOT, 'providers.d', 'filesystem.conf'), 'utf8');
    const hosts = /^hosts\s*=\s*(.*)$/m
      .exec(conf)?.[1]
      ?.split(',')
      .map((h) => h.trim());
    assert.deepEqual(hosts, [`127.0.0.1:${devServerSettings.postgresPort}`]);
  });
});
