import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinKey, RedisKeys, tsKey, validateKey } from '../../bank/keys';
import { InvalidKeyError } from '../../common/errors';

describe('bank key validation', () => {
  it('accepts the keys of the checkpoint layout', () => {
    for (const k of [
      '/checkpoints/3f2a/index.json',
      '/indices/by-provider/p/tenant-a/000001700000@3f2a',
      'plugin_data/a.b-c_d@e',
    ]) {
      assert.equal(validateKey(k), k);
    }
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['../x', /segment "\.\."/],
    ['a/./b', /segment "\."/],
    ['a/', /must not end with \//],
    ['a//b', /empty path segment/],
    ['a b', /only A-Z/],
    ['ключ', /only A-Z/],
    ['x'.repeat(10 * 1024), /longer than/],
  ];
  for (const [key, why] of bad) {
    it(`refuses ${JSON.stringify(key.slice(0, 20))} with a typed error naming the key`, () => {
      assert.throws(
        () => validateKey(key),
        (err: unknown) =>
          err instanceof InvalidKeyError && err.code === 'INVALID_KEY' && why.test(err.message),
      );
    });
  }

  it('joins section prefixes without doubling slashes', () => {
    assert.equal(joinKey('/checkpoints/1/', '/data'), '/checkpoints/1/data');
    assert.equal(joinKey('', 'x'), 'x');
  });

  it('pads timestamps so lexicographic order is time order', () => {
    assert.ok(tsKey(99) < tsKey(100));
    assert.equal(tsKey(1700000000).length, 12);
  });

  it('puts every Redis key of one bank in one hash slot', () => {
    const k = new RedisKeys('bank-1');
    for (const key of [k.object('/a'), k.objectIndex, k.lease('c'), k.checkpointState('c')]) {
      assert.ok(key.startsWith('{bank-1}:'), key);
    }
    assert.throws(() => new RedisKeys('bad prefix'), InvalidKeyError);
  });
});
