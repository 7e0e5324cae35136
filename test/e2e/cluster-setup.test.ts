import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { karbor } from '../support/cli';
import { envFor, isolatedConfig, testEnv } from '../support/env';

describe('karbor setup and Temporal client configuration (real dev server)', () => {
  const cfg = isolatedConfig('setup');
  const namespace = `karbor-setup-${cfg.taskQueue.slice(-8)}`;

  it('registers a namespace and the search attributes once, then finds them there', async () => {
    const env = { ...envFor(cfg), TEMPORAL_NAMESPACE: namespace };
    const first = await karbor(['setup', '--json', '--retention-days', '3'], env);
    assert.equal(first.code, 0, first.stderr);
    const steps = (JSON.parse(first.stdout) as { steps: { what: string; result: string }[] }).steps;
    assert.deepEqual(steps[0], { what: `namespace ${namespace}`, result: 'created' });
    assert.equal(steps.length, 6, 'the namespace and five search attributes');
    assert.ok(
      steps.slice(1).every((s) => s.result === 'created'),
      first.stdout,
    );

    const again = await karbor(['setup'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`namespace ${namespace}: already there`));
    assert.equal(again.stdout.match(/already there/g)?.length, 6, again.stdout);
  });

  it('reads the address and namespace from a temporal.toml profile', async () => {
    const dir = path.join(testEnv.workDir, 'envconfig');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'temporal.toml');
    fs.writeFileSync(
      file,
      `[profile.fleet]\naddress = "${cfg.temporalAddress}"\nnamespace = "${namespace}"\n`,
    );
    const env: NodeJS.ProcessEnv = {
      ...envFor(cfg),
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'fleet',
    };
    delete env.TEMPORAL_ADDRESS;
    delete env.TEMPORAL_NAMESPACE;
    const run = await karbor(['setup'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`namespace ${namespace}: already there`));
  });

  it('names the TLS setting that cannot be used, in one line', async () => {
    const env = {
      ...envFor(cfg),
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent/client.key',
    };
    const run = await karbor(['setup'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(
      run.stderr,
      /TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read "\/nonexistent\/client\.pem"/,
    );

    const tls = await karbor(['setup'], { ...envFor(cfg), TEMPORAL_TLS: 'true' });
    assert.equal(tls.code, 3, tls.stderr);
    assert.equal(tls.stderr.trim().split('\n').length, 1, tls.stderr);
    assert.match(tls.stderr, /cannot reach Temporal at .* with TLS/);
  });
});
