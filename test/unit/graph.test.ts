import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HookSchedule, HOOKS } from '../../graph/hook-schedule';
import type { Hook, HookTask } from '../../graph/hook-schedule';
import { buildGraph, shapeOf, unpackGraph } from '../../graph/resource-graph';
import type { GraphResource } from '../../graph/resource-graph';
import { GraphCycleError } from '../../common/errors';

const r = (id: string, deps: string[] = []): GraphResource => ({
  id,
  type: 'Karbor::Noop',
  name: id,
  extra_info: { depends_on: deps },
});

/** A dependents lookup over an id -> dependents table, like the Noop plugin's. */
function lookup(table: Record<string, string[]>) {
  return (res: GraphResource) =>
    Promise.resolve((table[res.id] ?? []).map((d) => r(d, table[d] ?? [])));
}

/** Runs a schedule to the end, completing ready tasks in a seeded random order. */
function simulate(
  children: number[][],
  seed: number,
  implemented = (_n: number, _h: Hook) => true,
) {
  const s = new HookSchedule({ children }, implemented);
  const order: string[] = [];
  let pool: HookTask[] = s.takeReady();
  let x = seed;
  while (pool.length > 0) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const [task] = pool.splice(x % pool.length, 1);
    order.push(`${task!.node}.${task!.hook}`);
    s.complete(task!);
    pool = pool.concat(s.takeReady());
  }
  assert.ok(s.finished, 'every hook ran');
  return order;
}

function assertKarborOrder(children: number[][], order: string[]) {
  const at = (n: number, h: Hook) => {
    const i = order.indexOf(`${n}.${h}`);
    assert.notEqual(i, -1, `${n}.${h} ran`);
    return i;
  };
  children.forEach((kids, p) => {
    for (let h = 1; h < 4; h++)
      assert.ok(at(p, HOOKS[h - 1]!) < at(p, HOOKS[h]!), `${p} own order`);
    for (const c of kids) {
      assert.ok(at(p, 'prepare_begin') < at(c, 'prepare_begin'), `${p}.pb before ${c}.pb`);
      assert.ok(at(c, 'prepare_finish') < at(p, 'prepare_finish'), `${c}.pf before ${p}.pf`);
      assert.ok(at(c, 'complete') < at(p, 'complete'), `${c}.complete before ${p}.complete`);
    }
  });
  assert.equal(order.length, children.length * 4);
  assert.equal(new Set(order).size, order.length, 'no hook ran twice');
}

describe('resource graph', () => {
  it('follows dependents once each, sharing a resource two parents depend on', async () => {
    const g = await buildGraph(
      [r('app', ['web', 'db'])],
      lookup({ app: ['web', 'db'], web: ['disk'], db: ['disk'] }),
    );
    assert.deepEqual(
      g.nodes.map((n) => n.id),
      ['app', 'web', 'db', 'disk'],
    );
    assert.deepEqual(g.children, [[1, 2], [3], [3], []]);
    assert.deepEqual(unpackGraph(JSON.parse(JSON.stringify(g))), g);
  });

  it('refuses a cycle with an error that names the loop', async () => {
    await assert.rejects(
      buildGraph([r('a')], lookup({ a: ['b'], b: ['c'], c: ['a'] })),
      (err: unknown) =>
        err instanceof GraphCycleError &&
        err.message ===
          'resource graph has a cycle: Karbor::Noop a -> Karbor::Noop b -> Karbor::Noop c -> Karbor::Noop a',
    );
    await assert.rejects(buildGraph([r('self')], lookup({ self: ['self'] })), GraphCycleError);
  });

  it('treats the same id under two types as two resources', async () => {
    const g = await buildGraph(
      [
        { id: 'x', type: 'A', name: 'x' },
        { id: 'x', type: 'B', name: 'x' },
      ],
      () => Promise.resolve([]),
    );
    assert.equal(g.nodes.length, 2);
    assert.deepEqual(shapeOf(g).types, ['A', 'B']);
  });

  it('refuses a stored graph with edges to nowhere', () => {
    assert.throws(() => unpackGraph({ version: 1, nodes: [r('a')], children: [[5]] }), /nowhere/);
    assert.throws(() => unpackGraph({ version: 2 }), /malformed/);
  });
});

describe('hook schedule', () => {
  const shapes: Record<string, number[][]> = {
    chain: [[1], [2], [3], []],
    diamond: [[1, 2], [3], [3], []],
    'wide fan-out': [
      Array.from({ length: 30 }, (_, i) => i + 1),
      ...Array.from({ length: 30 }, () => []),
    ],
    'two roots sharing a subtree': [[2], [2], [3, 4], [], []],
  };
  for (const [name, children] of Object.entries(shapes)) {
    it(`keeps Karbor's order on a ${name}, whatever order hooks finish in`, () => {
      for (let seed = 1; seed <= 25; seed++) assertKarborOrder(children, simulate(children, seed));
    });
  }

  it('keeps the order when a resource runs follow-on hooks in the same activity', () => {
    for (const [name, children] of Object.entries(shapes)) {
      for (let seed = 1; seed <= 10; seed++) {
        const s = new HookSchedule({ children }, () => true);
        const order: string[] = [];
        let pool: { task: HookTask; followers: Hook[] }[] = [];
        const take = () =>
          s.takeReady().map((task) => ({ task, followers: s.claimFollowers(task) }));
        pool = take();
        let x = seed;
        while (pool.length > 0) {
          x = (x * 1103515245 + 12345) % 2 ** 31;
          const [batch] = pool.splice(x % pool.length, 1);
          const { task, followers } = batch!;
          order.push(`${task.node}.${task.hook}`, ...followers.map((h) => `${task.node}.${h}`));
          s.complete(task);
          for (const h of followers) s.complete({ node: task.node, hook: h });
          pool = pool.concat(take());
        }
        assert.ok(s.finished, name);
        assertKarborOrder(children, order);
      }
    }
  });

  it('batches a leaf’s prepare hooks, and main with complete once children completed', () => {
    const s = new HookSchedule({ children: [[1], []] }, () => true);
    const [rootPb] = s.takeReady();
    assert.deepEqual(
      s.claimFollowers(rootPb!),
      [],
      'the root has a child waiting on its prepare_begin',
    );
    s.complete(rootPb!);
    const [leafPb] = s.takeReady();
    assert.deepEqual(leafPb, { node: 1, hook: 'prepare_begin' });
    assert.deepEqual(
      s.claimFollowers(leafPb),
      ['prepare_finish'],
      'nobody waits on a leaf’s prepare_begin',
    );
    s.complete(leafPb);
    s.complete({ node: 1, hook: 'prepare_finish' });
    const ready = s.takeReady();
    assert.deepEqual(ready.map((t) => `${t.node}.${t.hook}`).sort(), [
      '0.prepare_finish',
      '1.main',
    ]);
    const leafMain = ready.find((t) => t.node === 1)!;
    assert.deepEqual(s.claimFollowers(leafMain), ['complete']);
    const rootPf = ready.find((t) => t.node === 0)!;
    assert.deepEqual(s.claimFollowers(rootPf), ['main'], 'the root has no parent to release');
  });

  it('hands out only implemented hooks and still finishes', () => {
    const order = simulate([[1], []], 7, (_n, h) => h === 'main');
    assert.deepEqual(order.sort(), ['0.main', '1.main']);
  });

  it('runs the fan-out children in parallel once the parent has begun', () => {
    const s = new HookSchedule({ children: shapes['wide fan-out']! }, () => true);
    const first = s.takeReady();
    assert.deepEqual(first, [{ node: 0, hook: 'prepare_begin' }]);
    s.complete(first[0]!);
    assert.equal(s.takeReady().filter((t) => t.hook === 'prepare_begin').length, 30);
  });

  it('resumes from a snapshot without repeating or losing hooks', () => {
    const children = shapes.diamond!;
    const a = new HookSchedule({ children }, () => true);
    const ran: string[] = [];
    let pool = a.takeReady();
    for (let i = 0; i < 5; i++) {
      const t = pool.shift()!;
      ran.push(`${t.node}.${t.hook}`);
      a.complete(t);
      pool = pool.concat(a.takeReady());
    }
    const b = new HookSchedule({ children }, () => true, a.snapshot());
    pool = b.takeReady();
    while (pool.length) {
      const t = pool.shift()!;
      ran.push(`${t.node}.${t.hook}`);
      b.complete(t);
      pool = pool.concat(b.takeReady());
    }
    assert.ok(b.finished);
    assertKarborOrder(children, ran);
  });
});
