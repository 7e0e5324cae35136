import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHostName, hostOf, hostQueue, isHostName } from '../../graph/host-pinning';
import { nodeHost, operationSchedule } from '../../graph/operation-schedule';
import type { PackedGraph } from '../../graph/resource-graph';

describe('host pinning (pure)', () => {
  it('takes DNS host names, in lower case, and refuses anything else by name', () => {
    assert.equal(checkHostName('Web-1.Example.com', 'x'), 'web-1.example.com');
    for (const bad of ['', '../x', 'a b', 'my_box', '-a', 'a-', 'ä', 'a'.repeat(64), 7, {}, null]) {
      assert.throws(
        () => checkHostName(bad, 'extra_info.host of r'),
        /extra_info.host of r must be a host name/,
      );
    }
    assert.equal(
      isHostName(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`),
      true,
    );
    assert.equal(
      isHostName(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`),
      false,
    );
    assert.equal(hostQueue('karbor-protection', 'web-1'), 'karbor-protection@web-1');
  });

  it("pins by the resource's own host first, then the setting of a type that lives on hosts", () => {
    const r = (host?: unknown) => ({
      id: 'r',
      ...(host !== undefined ? { extra_info: { host } } : {}),
    });
    assert.equal(hostOf(r('DB-7'), false, {}), 'db-7');
    assert.equal(hostOf(r('db-7'), true, { host: 'web-1' }), 'db-7');
    assert.equal(hostOf(r(), true, { host: 'web-1' }), 'web-1');
    assert.equal(
      hostOf(r(), false, { host: 'web-1' }),
      undefined,
      'the setting is for pinned types',
    );
    assert.equal(hostOf(r(), true, {}), undefined);
    assert.throws(() => hostOf(r(), true, { host: 'my_box' }), /the provider setting host/);
  });

  it('interns hosts in the schedule and leaves schedules without pinned resources as before', () => {
    const graph: PackedGraph = {
      version: 1,
      nodes: [
        { id: 'a', type: 'T', name: 'a', extra_info: { host: 'h1' } },
        { id: 'b', type: 'T', name: 'b' },
        { id: 'c', type: 'T', name: 'c', extra_info: { host: 'h1' } },
      ],
      children: [[], [], []],
    };
    const pin = {
      hostOf: (n: { extra_info?: Record<string, unknown> }) =>
        n.extra_info?.host as string | undefined,
      waitSeconds: 60,
    };
    const s = operationSchedule(graph, () => ['main'], pin);
    assert.deepEqual(s.hosts, ['h1']);
    assert.deepEqual(s.nodeHosts, [0, -1, 0]);
    assert.equal(s.hostWaitSeconds, 60);
    assert.deepEqual(
      [0, 1, 2].map((n) => nodeHost(s, n)),
      ['h1', undefined, 'h1'],
    );
    const plain = operationSchedule(
      { ...graph, nodes: graph.nodes.map(({ extra_info: _e, ...n }) => n) },
      () => ['main'],
      pin,
    );
    assert.equal('hosts' in plain, false, 'no host fields: the same schedule as older builds made');
  });
});
