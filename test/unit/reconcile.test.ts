import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeCheckpoint, judgeRestore } from '../../bank/reconcile';

describe('what garbage collection makes of unfinished operations', () => {
  const protecting = { status: 'protecting' as const, resultsComplete: true };

  it('leaves a checkpoint alone while its workflow runs or its lease is renewed', () => {
    assert.equal(
      judgeCheckpoint({ ...protecting, run: 'running', lease: 'expired' }).action,
      'wait',
    );
    assert.equal(
      judgeCheckpoint({ ...protecting, run: 'terminated', lease: 'valid' }).action,
      'wait',
    );
  });

  it('makes a completed protect available only when the bank proves every resource', () => {
    assert.deepEqual(judgeCheckpoint({ ...protecting, run: 'completed', lease: 'stale' }), {
      action: 'available',
    });
    const lost = judgeCheckpoint({
      ...protecting,
      resultsComplete: false,
      run: 'completed',
      lease: 'expired',
    });
    assert.equal(lost.action, 'error');
  });

  it('names what happened to a protect that ended without recording it', () => {
    const reason = (
      run: Parameters<typeof judgeCheckpoint>[0]['run'],
      lease = 'stale' as const,
    ) => {
      const v = judgeCheckpoint({ ...protecting, run, lease });
      return v.action === 'error' ? v.reason : v.action;
    };
    assert.equal(reason('terminated'), 'terminated');
    assert.equal(reason('timed_out'), 'timed out');
    assert.equal(reason('cancelled'), 'cancelled');
    assert.match(reason('missing'), /workflow is gone/);
    assert.match(reason('failed', 'expired' as never), /failed.*\(lease lost\)/);
  });

  it('resumes a delete whose workflow is not running, whatever its lease', () => {
    for (const run of ['completed', 'failed', 'terminated', 'missing'] as const) {
      assert.equal(
        judgeCheckpoint({ status: 'deleting', resultsComplete: true, run, lease: 'valid' }).action,
        'resume-delete',
      );
    }
    assert.equal(
      judgeCheckpoint({
        status: 'deleting',
        resultsComplete: true,
        run: 'running',
        lease: 'expired',
      }).action,
      'wait',
    );
  });

  it('fails a restore whose workflow ended without recording it', () => {
    assert.deepEqual(judgeRestore('running'), { action: 'wait' });
    assert.deepEqual(judgeRestore('terminated'), { action: 'failure', reason: 'terminated' });
    assert.match((judgeRestore('missing') as { reason: string }).reason, /restore workflow/);
  });
});
