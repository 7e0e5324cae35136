import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pgAccess } from '../../plugins/postgresql/postgresql-plugin';

// A database resource id comes from a plan or the bank; the worker's password must only
// ever go to the servers its provider lists.
describe('PostgreSQL credentials go only to the provider’s hosts', () => {
  const config = { user: 'postgres', password_env: 'PGPW', hosts: '127.0.0.1:5433, db.local:5432' };
  const conn = (host: string, port: number) => ({ host, port, database: 'shop' });

  it('passes the password to a listed server', () => {
    const a = pgAccess({ PGPW: 'secret' }, config, conn('db.local', 5432));
    assert.equal(a.env.PGPASSWORD, 'secret');
    assert.equal(a.user, 'postgres');
  });

  it('refuses to send it anywhere else, as bad input', () => {
    for (const c of [conn('evil.example', 5432), conn('127.0.0.1', 5999), conn('db.local', 5433)]) {
      assert.throws(
        () => pgAccess({ PGPW: 'secret' }, config, c),
        (err: Error & { code?: string }) =>
          err.code === 'INVALID_ARGUMENT' &&
          err.message.includes(`${c.host}:${c.port}`) &&
          !err.message.includes('secret'),
      );
    }
  });

  it('never forwards an inherited PGPASSWORD to an unlisted server, and needs none', () => {
    assert.throws(() => pgAccess({ PGPASSWORD: 'inherited' }, { hosts: '' }, conn('x', 1)));
    const a = pgAccess({ PGPASSWORD: '' }, {}, conn('anywhere', 5432));
    assert.equal(a.env.PGPASSWORD, undefined);
  });
});
