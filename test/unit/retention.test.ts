import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRetention, checkPolicy, parseWithin } from '../../retention/policy';
import type { Candidate, RetentionPolicy } from '../../retention/policy';

const at = (iso: string, id = iso): Candidate => ({ id, createdAtMs: Date.parse(iso) });
const kept = (cs: Candidate[], p: RetentionPolicy, now = '2030-01-01T00:00:00Z') =>
  applyRetention(cs, p, Date.parse(now))
    .filter((v) => v.keep)
    .map((v) => v.id);

// restic forget's documented semantics, plus Karbor's max_backups / retention_duration.
describe('retention policies', () => {
  const six = [1, 2, 3, 4, 5, 6].map((d) => at(`2026-11-0${d}T12:00:00Z`, `d${d}`));

  it('keep_last keeps the newest n', () => {
    assert.deepEqual(kept(six, { keep_last: 3 }), ['d6', 'd5', 'd4']);
  });

  it('keep_daily keeps the newest of each of the last n days that have checkpoints', () => {
    const cs = [
      at('2026-11-20T10:00:00Z', 'a10'),
      at('2026-11-20T12:00:00Z', 'a12'),
      at('2026-11-20T14:00:00Z', 'a14'),
      at('2026-11-22T09:00:00Z', 'b09'),
      at('2026-11-22T23:59:00Z', 'b23'),
      at('2026-11-18T08:00:00Z', 'c08'),
    ];
    assert.deepEqual(kept(cs, { keep_daily: 2 }), ['b23', 'a14']);
    assert.deepEqual(kept(cs, { keep_daily: -1 }), ['b23', 'a14', 'c08']);
  });

  it('keep_weekly buckets by ISO week, across the new year', () => {
    const cs = [
      at('2026-01-01T00:00:00Z', 'thu'), // ISO week 2026-W01
      at('2025-12-29T00:00:00Z', 'mon'), // also 2026-W01
      at('2025-12-28T00:00:00Z', 'sun'), // 2025-W52
      at('2025-12-20T00:00:00Z', 'older'), // 2025-W51
    ];
    assert.deepEqual(kept(cs, { keep_weekly: 2 }), ['thu', 'sun']);
    const reasons = applyRetention(cs, { keep_weekly: 2 }, Date.parse('2030-01-01T00:00:00Z'));
    assert.deepEqual(reasons[0]!.reasons, ['kept: weekly 2026-W01']);
    assert.deepEqual(reasons[1]!.reasons, ['removed: no keep rule keeps it']);
  });

  it('keep_monthly and keep_yearly, and rules add up (a checkpoint may have several reasons)', () => {
    const cs = [
      at('2026-03-05T00:00:00Z', 'mar'),
      at('2026-02-28T00:00:00Z', 'feb'),
      at('2026-02-01T00:00:00Z', 'feb1'),
      at('2025-12-31T00:00:00Z', 'dec'),
    ];
    assert.deepEqual(kept(cs, { keep_monthly: 2, keep_yearly: 2 }), ['mar', 'feb', 'dec']);
    const v = applyRetention(cs, { keep_monthly: 2, keep_yearly: 2 }, 0);
    assert.deepEqual(v[0]!.reasons, ['kept: monthly 2026-03', 'kept: yearly 2026']);
  });

  it('keep_within counts back from the newest checkpoint, not from now', () => {
    assert.deepEqual(kept(six, { keep_within: '2d' }, '2099-01-01T00:00:00Z'), ['d6', 'd5']);
    assert.equal(parseWithin('1y2m3d4h'), ((365 + 60 + 3) * 24 + 4) * 3_600_000);
  });

  it('max_backups caps what the keep rules keep; retention_duration removes the old', () => {
    assert.deepEqual(kept(six, { max_backups: 3 }), ['d6', 'd5', 'd4']);
    assert.deepEqual(kept(six, { keep_daily: 10, max_backups: 2 }), ['d6', 'd5']);
    assert.deepEqual(kept(six, { retention_duration: 2.5 }, '2026-11-07T00:00:00Z'), [
      'd6',
      'd5',
      'd4',
    ]);
    const v = applyRetention(six, { max_backups: 3 }, 0);
    assert.deepEqual(v[5]!.reasons, ['removed: beyond max_backups 3']);
  });

  it('never removes the newest available checkpoint', () => {
    const v = applyRetention(six, { retention_duration: 1 }, Date.parse('2027-01-01T00:00:00Z'));
    assert.deepEqual(
      v.filter((x) => x.keep).map((x) => x.id),
      ['d6'],
    );
    assert.match(v[0]!.reasons[0]!, /newest available checkpoint is never removed/);
  });

  it('refuses policies that would be misread', () => {
    for (const bad of [
      {},
      { keep_last: 1.5 },
      { max_backups: 0 },
      { retention_duration: -1 },
      { keep_within: '3w' },
      { keep_everything: 1 },
    ]) {
      assert.throws(() => checkPolicy(bad), { code: 'INVALID_ARGUMENT' });
    }
  });
});
