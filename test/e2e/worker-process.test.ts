import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { freePort } from '../../scripts/services';
import { envFor, eventually, isolatedConfig, WORKER_MAIN } from '../support/env';

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startWorkerProcess(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [WORKER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, exited, output: () => stdout + stderr };
}

describe('the worker process', () => {
  it('exits non-zero with one clear line naming the Redis address when Redis is down', async () => {
    const cfg = isolatedConfig('noredis');
    const deadPort = await freePort();
    const url = `redis://127.0.0.1:${deadPort}`;
    const { exited } = startWorkerProcess({ ...envFor(cfg), REDIS_URL: url });
    const { code, stderr } = await exited;
    assert.notEqual(code, 0);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
    assert.match(lines[0]!, new RegExp(`cannot reach Redis at ${url.replace(/\./g, '\\.')}`));
  });

  it('exits non-zero naming the Temporal address when Temporal is down', async () => {
    const cfg = isolatedConfig('notemporal');
    const address = `127.0.0.1:${await freePort()}`;
    const { exited } = startWorkerProcess({ ...envFor(cfg), TEMPORAL_ADDRESS: address });
    const { code, stderr } = await exited;
    assert.notEqual(code, 0);
    assert.match(stderr, new RegExp(`cannot reach Temporal at ${address.replace(/\./g, '\\.')}`));
  });

  it('shuts down cleanly with exit code 0 on SIGTERM', async () => {
    const cfg = isolatedConfig('sigterm');
    const w = startWorkerProcess(envFor(cfg));
    await eventually('the worker to start polling', async () =>
      Promise.resolve(w.output().includes('polling') ? true : undefined),
    );
    w.child.kill('SIGTERM');
    const { code, stdout } = await w.exited;
    assert.equal(code, 0);
    assert.match(stdout, /karbor-worker: stopped/);
  });
});
