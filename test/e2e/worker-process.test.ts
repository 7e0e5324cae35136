import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, PROJECT_ROOT } from '../../scripts/services';
import { envFor, eventually, isolatedConfig, testEnv } from '../support/env';
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

  it('refuses to start on a provider whose [repository] section is wrong, naming file and setting', async () => {
    const cfg = isolatedConfig('badrepo');
    const dir = path.join(testEnv.workDir, 'bad-repository-providers');
    fs.mkdirSync(dir, { recursive: true });
    const shipped = fs.readFileSync(
      path.join(PROJECT_ROOT, 'providers.d', 'filesystem.conf'),
      'utf8',
    );
    fs.writeFileSync(
      path.join(dir, 'fs.conf'),
      shipped.replace('compression = auto', 'compression = fast'),
    );
    const { exited } = startWorkerProcess({ ...envFor(cfg), KARBOR_PROVIDERS_DIR: dir });
    const { code, stderr } = await exited;
    assert.notEqual(code, 0);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
    assert.match(
      lines[0]!,
      /fs\.conf: provider .*: \[repository\] compression must be one of auto, off, max/,
    );
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
