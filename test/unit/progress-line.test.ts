import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateWindow, statusLine, statusOf, summaryOf } from '../../client/progress-line';
import type { Progress } from '../../workflows/definitions';

const progress = (over: Partial<Progress> = {}): Progress => ({
  phase: 'running',
  total: 1,
  done: 0,
  failed: 0,
  running: ['db-1'],
  resources: {},
  bytes: 0,
  ...over,
});
const hook = (over: Partial<Parameters<typeof statusOf>[1][number]> = {}) => ({
  resource: 'db-1',
  bytesDone: 0,
  bytesTotal: 0,
  filesTotal: 0,
  attempt: 1,
  maxAttempts: 5,
  ...over,
});

describe('the --wait status', () => {
  it('takes the percentage from resources done and the running ones’ bytes', () => {
    const s = statusOf(
      progress({ total: 2, done: 1 }),
      [hook({ bytesDone: 50, bytesTotal: 100 })],
      3,
      25,
    );
    assert.equal(s.percent_done, 0.75);
    assert.equal(s.bytes_done, 50);
    assert.equal(s.bytes_total, 100);
    assert.equal(s.seconds_remaining, 2, '50 bytes left at 25 B/s');
  });

  it('gives no ETA while a resource has not started or a running one has no size', () => {
    assert.equal(
      statusOf(progress({ total: 3 }), [hook({ bytesDone: 5, bytesTotal: 10 })], 1, 5)
        .seconds_remaining,
      undefined,
    );
    assert.equal(statusOf(progress(), [hook({ bytesDone: 5 })], 1, 5).seconds_remaining, undefined);
  });

  it('shows retries with the attempt and the last failure', () => {
    const s = statusOf(progress(), [hook({ attempt: 3, lastFailure: 'connection refused' })], 1, 0);
    assert.deepEqual(s.retries, [
      { resource: 'db-1', attempt: 3, max_attempts: 5, error: 'connection refused' },
    ]);
    assert.match(statusLine(s), /db-1 attempt 3\/5: connection refused/);
    assert.doesNotMatch(statusLine(s), /now db-1/, 'a retried resource is not listed twice');
    assert.ok(statusLine(s, 30).length <= 30);
    // On a narrow terminal the ETA and the retry outlive the elapsed time, files and rate.
    const busy = statusOf(
      progress({ total: 1 }),
      [hook({ bytesDone: 50, bytesTotal: 100, filesTotal: 24, attempt: 2, lastFailure: 'boom' })],
      13,
      25,
    );
    const narrow = statusLine(busy, 80);
    assert.ok(narrow.length < 80, narrow);
    assert.match(narrow, /ETA 2\.0s/);
    assert.match(narrow, /db-1 attempt 2\/5: boom/);
  });

  it('measures the rate over the last seconds, not since the start', () => {
    const w = new RateWindow(10_000);
    w.add(0, 0);
    for (let t = 1000; t <= 20_000; t += 1000) w.add(t, t < 15_000 ? 0 : (t - 14_000) * 1000);
    // Nothing moved for 14 s, then 1 MB/s: the window sees the recent rate.
    assert.ok(w.add(21_000, 7_000_000) > 600_000);
  });

  it('summarises what moved', () => {
    const { line, json } = summaryOf(
      progress({
        phase: 'finished',
        done: 1,
        stats: { read: 1024 ** 2, stored: 0, deduplicated: 1024 ** 2, files: 3 },
      }),
      2,
    );
    assert.equal(
      line,
      '1/1 resources in 2.0s, 1.0 MiB read, 0 B new in the store, 1.0 MiB deduplicated, 3 files',
    );
    assert.equal(json.bytes_deduplicated, 1024 ** 2);
    assert.equal(json.message_type, 'summary');
  });
});
