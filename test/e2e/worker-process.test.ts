import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort } from '../../scripts/services';
import { envFor, eventually, isolatedConfig } from '../support/env';
import { startWorkerProcess } from '../support/worker-process';

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
    const { code, stderr } = await w.exited;
    assert.equal(code, 0);
    assert.match(stderr, /karbor-worker: stopped/);
  });
});
