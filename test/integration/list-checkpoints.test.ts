import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CheckpointCollection } from '../../bank/checkpoint-collection';
import type { Caller, ListCheckpointsQuery } from '../../bank/checkpoint-collection';
import { tsKey } from '../../bank/keys';
import { InvalidArgumentError, PermissionDeniedError } from '../../common/errors';
import { isolatedBank } from '../support/env';
import type { Redis } from 'ioredis';

interface Row {
  id: string;
  provider: string;
  project: string;
  plan: string;
  ts: number;
  date: string;
}

const PROJECTS = ['tenant-a', 'tenant-b', 'tenant-c'];
const PLANS = ['plan-x', 'plan-y'];
const DAY0 = Date.UTC(2026, 9, 1);
const N = 1300;

/** A deterministic spread over 12 days, 2 providers, 3 tenants and 2 plans. */
function rows(): Row[] {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: N }, (_, i) => {
    const ms = DAY0 + Math.floor(rnd() * 12 * 86400) * 1000;
    return {
      id: `cp-${String(i).padStart(5, '0')}`,
      provider: i % 7 === 0 ? 'prov-2' : 'prov-1',
      project: PROJECTS[i % 3]!,
      plan: PLANS[Math.floor(rnd() * 2)]!,
      ts: ms / 1000,
      date: new Date(ms).toISOString().slice(0, 10),
    };
  });
}

/** The documented listing order for a query (README, "Listing checkpoints"). */
function orderKey(r: Row, q: ListCheckpointsQuery): string {
  const t = `${tsKey(r.ts)}@${r.id}`;
  const oneProject = !q.allTenants || q.projectId !== undefined;
  if (oneProject) return t;
  if (q.planId) return `${r.project}/${r.date}/${t}`;
  if (q.startDate || q.endDate) return `${r.date}/${r.project}/${t}`;
  return `${r.project}/${t}`;
}

function expected(all: Row[], provider: string, q: ListCheckpointsQuery, caller: Caller): string[] {
  const project = q.allTenants ? q.projectId : (q.projectId ?? caller.projectId);
  return all
    .filter(
      (r) =>
        r.provider === provider &&
        (!project || r.project === project) &&
        (!q.planId || r.plan === q.planId) &&
        (!q.startDate || r.date >= q.startDate) &&
        (!q.endDate || r.date <= q.endDate),
    )
    .sort((a, b) => (orderKey(a, q) < orderKey(b, q) ? -1 : 1))
    .map((r) => r.id);
}

describe('list_checkpoints over 1,300 checkpoints on a real redis-server', () => {
  let redis: Redis;
  let checkpoints: CheckpointCollection;
  const data = rows();

  before(async () => {
    let prefix: string;
    ({ redis, prefix } = await isolatedBank('listing'));
    checkpoints = new CheckpointCollection(redis, prefix);
    for (let i = 0; i < data.length; i += 200) {
      await Promise.all(
        data.slice(i, i + 200).map((r) =>
          checkpoints.create({
            id: r.id,
            leaseOwner: `protect-${r.id}`,
            providerId: r.provider,
            projectId: r.project,
            plan: { id: r.plan, name: r.plan, provider_id: r.provider, resources: [] },
            resourceGraph: null,
            createdAtMs: r.ts * 1000,
          }),
        ),
      );
    }
  });
  after(() => redis?.disconnect());

  async function pageThrough(provider: string, q: ListCheckpointsQuery, caller: Caller) {
    const seen: string[] = [];
    let marker: string | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await checkpoints.list(
        provider,
        { ...q, limit: 97, ...(marker ? { marker } : {}) },
        caller,
      );
      seen.push(...page.checkpoints.map((c) => c.id));
      if (!page.next_marker) return seen;
      marker = page.next_marker;
    }
    throw new Error('paging did not end');
  }

  const admin: Caller = { projectId: 'tenant-a', admin: true };
  const tenant: Caller = { projectId: 'tenant-b' };
  const combos: { name: string; q: ListCheckpointsQuery; caller: Caller }[] = [];
  for (const planId of [undefined, 'plan-y']) {
    for (const [startDate, endDate] of [
      [undefined, undefined],
      ['2026-10-04', undefined],
      [undefined, '2026-10-06'],
      ['2026-10-03', '2026-10-09'],
    ] as const) {
      for (const [who, caller, scope] of [
        ['own project', tenant, {}],
        ['all tenants', admin, { allTenants: true }],
        ['all tenants, one project', admin, { allTenants: true, projectId: 'tenant-c' }],
      ] as const) {
        const q: ListCheckpointsQuery = {
          ...scope,
          ...(planId ? { planId } : {}),
          ...(startDate ? { startDate } : {}),
          ...(endDate ? { endDate } : {}),
        };
        combos.push({
          name: `plan=${planId ?? '-'} start=${startDate ?? '-'} end=${endDate ?? '-'} ${who}`,
          q,
          caller,
        });
      }
    }
  }

  it('returns every match exactly once, in order, paging forwards and backwards', async () => {
    for (const { name, q, caller } of combos) {
      const want = expected(data, 'prov-1', q, caller);
      assert.ok(want.length > 0, `${name}: the data set should match something`);
      const asc = await pageThrough('prov-1', { ...q, sortDir: 'asc' }, caller);
      assert.deepEqual(asc, want, `${name} (asc)`);
      const desc = await pageThrough('prov-1', { ...q, sortDir: 'desc' }, caller);
      assert.deepEqual(desc, [...want].reverse(), `${name} (desc)`);
    }
  });

  it('defaults to the caller’s project, newest first', async () => {
    const page = await checkpoints.list('prov-2', {}, { projectId: 'tenant-a' });
    const want = expected(data, 'prov-2', {}, { projectId: 'tenant-a' }).reverse().slice(0, 100);
    assert.deepEqual(
      page.checkpoints.map((c) => c.id),
      want,
    );
    assert.ok(page.checkpoints.every((c) => c.project_id === 'tenant-a'));
  });

  it('refuses all_tenants and foreign projects to non-admins', async () => {
    await assert.rejects(
      checkpoints.list('prov-1', { allTenants: true }, tenant),
      PermissionDeniedError,
    );
    await assert.rejects(
      checkpoints.list('prov-1', { projectId: 'tenant-a' }, tenant),
      PermissionDeniedError,
    );
  });

  it('refuses malformed dates, limits, directions and markers', async () => {
    for (const q of [
      { startDate: '2026-13-45' },
      { endDate: 'yesterday' },
      { startDate: '2026-10-09', endDate: '2026-10-01' },
      { limit: 0 },
      { limit: 1.5 },
      { sortDir: 'sideways' as 'asc' },
      { marker: 'no-such-checkpoint' },
    ]) {
      await assert.rejects(
        checkpoints.list('prov-1', q, tenant),
        InvalidArgumentError,
        JSON.stringify(q),
      );
    }
  });
});
