import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BankSection } from '../../bank/bank-section';
import { RedisBank } from '../../bank/redis-bank';
import {
  InvalidArgumentError,
  InvalidKeyError,
  ObjectNotFoundError,
  ReadOnlySectionError,
} from '../../common/errors';
import { allKeysOf, isolatedBank } from '../support/env';
import type { Redis } from 'ioredis';

describe('RedisBank objects on a real redis-server', () => {
  let redis: Redis;
  let bank: RedisBank;
  let prefix: string;

  before(async () => {
    ({ redis, prefix } = await isolatedBank('objects'));
    bank = new RedisBank(redis, prefix);
  });
  after(() => redis?.disconnect());

  it('stores, reads and deletes JSON objects', async () => {
    const value = { a: [], b: {}, n: 1.5, s: 'ü', nested: { list: [1, 2] } };
    await bank.updateObject('/x/one.json', value);
    assert.deepEqual(await bank.getObject('/x/one.json'), value);
    await bank.updateObject('/x/one.json', { replaced: true });
    assert.deepEqual(await bank.getObject('/x/one.json'), { replaced: true });
    await bank.deleteObject('/x/one.json');
    await assert.rejects(bank.getObject('/x/one.json'), ObjectNotFoundError);
    assert.deepEqual(await bank.listObjects('/x/'), []);
    await bank.deleteObject('/x/one.json'); // deleting twice is a no-op
  });

  it('lists by prefix in order, both directions, paged by marker', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => `/list/k${String(i).padStart(4, '0')}`);
    await Promise.all(keys.map((k, i) => bank.updateObject(k, i)));
    await bank.updateObject('/lisp', 'not under /list/');
    await bank.updateObject('/list', 'exactly the prefix without slash');

    const forward: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await bank.listObjects('/list/', { limit: 37, ...(marker ? { marker } : {}) });
      forward.push(...page);
      if (page.length < 37) break;
      marker = page[page.length - 1];
    }
    assert.deepEqual(forward, keys);

    const backward: string[] = [];
    marker = undefined;
    for (;;) {
      const page = await bank.listObjects('/list/', {
        limit: 41,
        sortDir: 'desc',
        ...(marker ? { marker } : {}),
      });
      backward.push(...page);
      if (page.length < 41) break;
      marker = page[page.length - 1];
    }
    assert.deepEqual(backward, [...keys].reverse());
    assert.deepEqual(await bank.listObjects('/lis', { limit: 2 }), ['/lisp', '/list']);
  });

  it('refuses bad keys with a typed error and writes nothing', async () => {
    const before = await allKeysOf(redis, prefix);
    for (const key of ['../x', 'a/', '', 'ключ', 'k'.repeat(10 * 1024), '/a/../b', 'a b']) {
      await assert.rejects(bank.updateObject(key, 1), InvalidKeyError, `key ${key.slice(0, 10)}`);
      await assert.rejects(bank.getObject(key), InvalidKeyError);
      await assert.rejects(bank.deleteObject(key), InvalidKeyError);
    }
    await assert.rejects(bank.listObjects('bad prefix'), InvalidKeyError);
    await assert.rejects(bank.listObjects('/', { limit: 0 }), InvalidArgumentError);
    assert.deepEqual(await allKeysOf(redis, prefix), before);
  });

  it('gives one owner id per bank, the same on every call', async () => {
    const a = await bank.getOwnerId();
    const b = await new RedisBank(redis, prefix).getOwnerId();
    assert.equal(a, b);
    assert.notEqual(a, await new RedisBank(redis, `${prefix}-other`).getOwnerId());
  });

  it('keeps two banks with different prefixes apart on one Redis', async () => {
    const other = new RedisBank(redis, `${prefix}-b`);
    await bank.updateObject('/shared/key', 'mine');
    await other.updateObject('/shared/key', 'theirs');
    assert.equal(await bank.getObject('/shared/key'), 'mine');
    assert.equal(await other.getObject('/shared/key'), 'theirs');
    assert.deepEqual(await other.listObjects('/'), ['/shared/key']);
  });

  it('scopes a section to its prefix and refuses writes through a read-only one', async () => {
    const section = new BankSection(bank, '/plugins/dir');
    await section.updateObject('a.json', { a: 1 });
    await section.updateObject('sub/b.json', { b: 2 });
    assert.deepEqual(await bank.getObject('/plugins/dir/a.json'), { a: 1 });
    assert.deepEqual(await section.listObjects(), ['a.json', 'sub/b.json']);
    assert.deepEqual(await section.listObjects('sub/'), ['sub/b.json']);
    assert.deepEqual(await section.listObjects('', { marker: 'a.json' }), ['sub/b.json']);
    await assert.rejects(section.updateObject('../escape', 1), InvalidKeyError);

    const ro = new BankSection(bank, '/plugins/dir', { readOnly: true });
    assert.deepEqual(await ro.getObject('a.json'), { a: 1 });
    await assert.rejects(ro.updateObject('a.json', 2), ReadOnlySectionError);
    await assert.rejects(ro.deleteObject('a.json'), (err: unknown) => {
      return err instanceof ReadOnlySectionError && err.code === 'READ_ONLY_SECTION';
    });
    assert.deepEqual(await bank.getObject('/plugins/dir/a.json'), { a: 1 });
  });
});
