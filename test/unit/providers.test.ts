import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { scratchDir } from '../support/scratch';
import { ProviderConfigError } from '../../common/errors';
import { noopPlugin } from '../../plugins/noop/noop-plugin';
import { PluginRegistry } from '../../plugins/registry';
import { pageProviders, ProviderRegistry } from '../../providers/provider-registry';
import { planGraph } from '../../providers/plan-graph';

const plugins = new PluginRegistry([noopPlugin()]);

function dirWith(files: Record<string, string>): string {
  const dir = scratchDir('providers');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const good = (id: string, extra = '') =>
  `# comment\n[provider]\nid = ${id}\nname = P ${id}\nplugin = noop\n${extra}\n[noop]\nx = 1\n`;

describe('provider files', () => {
  it('loads enabled providers with their plugins, schemas and plugin sections', () => {
    const dir = dirWith({
      'a.conf': good('p-a'),
      'b.conf': good('p-b', 'description = second\nbank = redis'),
      'c.conf': good('p-c', 'enabled = false'),
      'notes.txt': 'not a provider',
    });
    const reg = ProviderRegistry.load(dir, plugins);
    assert.deepEqual(
      reg.documents().map((d) => d.id),
      ['p-a', 'p-b'],
    );
    const b = reg.get('p-b');
    assert.equal(b.doc.description, 'second');
    assert.deepEqual(b.config, { noop: { x: '1' } });
    assert.ok(b.doc.extended_info_schema.options_schema['Karbor::Noop']);
    assert.ok(b.doc.extended_info_schema.restore_schema['Karbor::Noop']);
    assert.throws(() => reg.get('p-c'), /provider p-c not found/);
    assert.deepEqual(
      pageProviders(reg.documents(), { marker: 'p-a' }).map((d) => d.id),
      ['p-b'],
    );
    assert.deepEqual(pageProviders(reg.documents(), { name: 'P p-a' }).length, 1);
    assert.equal(pageProviders(reg.documents(), { limit: 1 }).length, 1);
  });

  const broken: [string, string, RegExp][] = [
    ['no section', 'id = x\n', /bad\.conf:1: "id = x" is outside any \[section\]/],
    ['no provider section', '[other]\na = b\n', /bad\.conf:1: no \[provider\] section/],
    ['missing id', '[provider]\nname = n\nplugin = noop\n', /bad\.conf:1: \[provider\] needs id/],
    [
      'unknown plugin',
      '[provider]\nid = x\nname = n\nplugin = tape\n',
      /bad\.conf:4: unknown plugin tape/,
    ],
    [
      'unknown key',
      '[provider]\nid = x\nname = n\nplugin = noop\ncolour = red\n',
      /bad\.conf:5: unknown key colour/,
    ],
    ['not key = value', '[provider]\nid x\n', /bad\.conf:2: expected "key = value"/],
    ['twice', '[provider]\nid = x\nid = y\n', /bad\.conf:3: id given twice/],
    [
      'bad enabled',
      '[provider]\nid = x\nname = n\nplugin = noop\nenabled = maybe\n',
      /bad\.conf:5: enabled must be true or false/,
    ],
    [
      'other bank',
      '[provider]\nid = x\nname = n\nplugin = noop\nbank = swift\n',
      /bad\.conf:5: bank swift is not supported/,
    ],
    ['bad id', '[provider]\nid = a b\nname = n\nplugin = noop\n', /bad\.conf:2: provider id a b/],
  ];
  for (const [name, text, message] of broken) {
    it(`refuses a file with ${name}, naming file and line`, () => {
      const dir = dirWith({ 'bad.conf': text });
      assert.throws(
        () => ProviderRegistry.load(dir, plugins),
        (err: unknown) => err instanceof ProviderConfigError && message.test(err.message),
      );
    });
  }

  it('refuses two files defining one provider id', () => {
    const dir = dirWith({ 'a.conf': good('same'), 'b.conf': good('same') });
    assert.throws(
      () => ProviderRegistry.load(dir, plugins),
      /b\.conf: provider id same is already defined in .*a\.conf/,
    );
  });

  it('refuses a missing directory with its path', () => {
    assert.throws(
      () => ProviderRegistry.load('/no/such/dir', plugins),
      /cannot read providers directory \/no\/such\/dir/,
    );
  });
});

describe('plan validation against a provider', () => {
  const reg = ProviderRegistry.load(dirWith({ 'a.conf': good('p') }), plugins);
  const plan = (over: object = {}) => ({
    id: 'plan',
    name: 'plan',
    provider_id: 'p',
    project_id: 't',
    resources: [
      { id: 'a', type: 'Karbor::Noop', name: 'a', extra_info: { depends_on: ['b'] } },
      { id: 'b', type: 'Karbor::Noop', name: 'b' },
    ],
    ...over,
  });

  it('builds the graph, following dependents not listed in the plan', async () => {
    const g = await planGraph(
      plan({
        resources: [
          { id: 'a', type: 'Karbor::Noop', name: 'a', extra_info: { depends_on: ['x'] } },
        ],
      }),
      reg.get('p'),
    );
    assert.deepEqual(
      g.nodes.map((n) => n.id),
      ['a', 'x'],
    );
  });

  it('refuses duplicates, foreign providers and parameters for other types', async () => {
    await assert.rejects(
      planGraph(plan({ resources: [plan().resources[1], plan().resources[1]] }), reg.get('p')),
      /lists Karbor::Noop b twice/,
    );
    await assert.rejects(
      planGraph(plan({ provider_id: 'q' }), reg.get('p')),
      /names provider q, not p/,
    );
    await assert.rejects(
      planGraph(plan({ parameters: { 'OS::Nova::Server': {} } }), reg.get('p')),
      /resource type OS::Nova::Server, which the provider does not protect/,
    );
    await assert.rejects(
      planGraph(
        plan({ parameters: { 'Karbor::Noop': { fail_on: 'sometimes', colour: 1 } } }),
        reg.get('p'),
      ),
      /must NOT have additional properties \(colour\); \/fail_on must be equal to one of the allowed values/,
    );
  });
});
