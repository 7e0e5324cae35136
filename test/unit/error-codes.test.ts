// The one table of error codes: every class carries its code and the permanence the table
// gives it, Temporal's non-retryable list and the CLI's exit codes come from it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { describeFailure } from '../../client/exit-codes';
import { ERROR_CODES, EXIT, isErrorCode } from '../../common/error-codes';
import * as errors from '../../common/errors';
import { KarborError } from '../../common/errors';
import { ChunkError } from '../../plugins/chunk-store/chunk-store';
import { DocumentRefusedError } from '../../plugins/chunk-store/provider-store';
import {
  BlobMissingError,
  RepositoryConfigError,
  RepositoryDamagedError,
  WrongKeyError,
} from '../../repository/errors';
import { TreeError } from '../../plugins/directory/manifest';
import { PostgresError } from '../../plugins/postgresql/pg-tools';
import {
  checkStickyBeforeHookRetry,
  HOOK_ACTIVITY,
  NON_RETRYABLE_ERROR_TYPES,
} from '../../temporal-config/activity-options';

/** One instance of each error class, made with plausible arguments. */
function instances(): KarborError[] {
  const out: KarborError[] = [
    new ChunkError('ab', 'missing'),
    new TreeError('bad tree'),
    new PostgresError('down', false),
    new WrongKeyError('wrong'),
    new RepositoryDamagedError('data/00/00', 'flipped'),
    new BlobMissingError('ab', 'gone'),
    new RepositoryConfigError('bad'),
    new DocumentRefusedError('planted'),
  ];
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || value === KarborError) continue;
    if (!(value.prototype instanceof KarborError)) continue;
    if (value === errors.OperationRefusedError) continue; // carries a worker's code
    const Ctor = value as unknown as new (...args: unknown[]) => KarborError;
    out.push(
      value === errors.GraphCycleError ? new Ctor(['a', 'b']) : new Ctor('x', 'y', ['z'], 'w'),
    );
  }
  return out;
}

const PER_FAILURE = new Set(['HOOK_FAILED', 'POSTGRES_FAILED']);

describe('error codes: one table', () => {
  it('every error class raises a code of the table, names itself, and is as permanent as the table says', () => {
    const seen = new Set<string>();
    for (const err of instances()) {
      assert.ok(isErrorCode(err.code), `${err.constructor.name}: ${err.code} is not in the table`);
      seen.add(err.code);
      const info = ERROR_CODES[err.code];
      assert.equal(info.raisedBy, err.constructor.name, err.code);
      assert.equal(err.name, err.constructor.name);
      assert.match(String(err), new RegExp(`^${err.constructor.name}: `));
      if (!PER_FAILURE.has(err.code)) assert.equal(err.permanent, !info.retryable, err.code);
    }
    // Every code but the workflow's refusal belongs to a class that was made here.
    const orphans = Object.keys(ERROR_CODES).filter(
      (c) => !seen.has(c) && c !== 'OPERATION_NOT_STARTED' && c !== 'OPERATION_REFUSED',
    );
    assert.deepEqual(orphans, []);
  });

  it('Temporal gets exactly the non-retryable codes, and hooks use that list', () => {
    const expected = Object.entries(ERROR_CODES)
      .filter(([, i]) => !i.retryable)
      .map(([c]) => c)
      .sort();
    assert.deepEqual([...NON_RETRYABLE_ERROR_TYPES].sort(), expected);
    assert.deepEqual(HOOK_ACTIVITY.retry?.nonRetryableErrorTypes, NON_RETRYABLE_ERROR_TYPES);
    assert.ok(expected.includes('TREE_REFUSED') && expected.includes('CHUNK_DAMAGED'));
  });

  it('the CLI exits with the code the table gives each error', () => {
    for (const err of instances()) {
      const info = ERROR_CODES[err.code as keyof typeof ERROR_CODES];
      assert.equal(describeFailure(err).exitCode, EXIT[info.exit], err.code);
    }
    assert.equal(describeFailure(new Error('plain')).exitCode, EXIT.failed);
  });

  it('no code is written as a bare string outside the table', () => {
    const root = path.join(__dirname, '..', '..', '..');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (['node_modules', 'dist', '.git', 'test', '.tools'].includes(e.name)) continue;
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && !p.endsWith(path.join('common', 'error-codes.ts'))) {
          const text = fs.readFileSync(p, 'utf8');
          for (const code of Object.keys(ERROR_CODES)) {
            // Typed places are fine: a class's own code, `satisfies ErrorCode`, and the
            // ErrorCode argument of OperationRefusedError.
            const bare = new RegExp(`'${code}'(?! satisfies)`);
            const typed = text
              .replace(/readonly code = '[A-Z_]+'/g, '')
              .replace(/OperationRefusedError\(\s*(?:\w+ \?\? )?'[A-Z_]+'/g, '');
            if (bare.test(typed)) offenders.push(`${p}: ${code}`);
          }
        }
      }
    };
    walk(root);
    assert.deepEqual(offenders, []);
  });
});

describe('worker timings: the sticky queue hands a dead worker’s workflows on before its hooks retry', () => {
  it('the shipped timings pass, and a sticky timeout at or past the first hook retry is refused', () => {
    checkStickyBeforeHookRetry();
    assert.throws(() => checkStickyBeforeHookRetry('11s'), /sticky queue timeout \(11s\)/);
    assert.throws(
      () => checkStickyBeforeHookRetry('3s', { ...HOOK_ACTIVITY, heartbeatTimeout: '2s' }),
      /must be below/,
    );
  });
});
