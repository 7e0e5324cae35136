import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Plan } from '../../common/documents';
import { describeFailure, EXIT } from '../../client/exit-codes';
import { comparableDump } from '../../plugins/postgresql/pg-tools';
import { FS_PROVIDER, testEnv, useService } from '../support/env';
import { describeTree, makeTree } from '../support/trees';

function sql(db: string, statement: string): string {
  return execFileSync(
    'psql',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(testEnv.pgPort),
      '-U',
      'postgres',
      '-d',
      db,
      '-v',
      'ON_ERROR_STOP=1',
      '-Atc',
      statement,
    ],
    {
      encoding: 'utf8',
    },
  );
}

/** A plain-text dump: two databases with the same contents dump to the same text. */
function plainDump(db: string): Promise<string> {
  return comparableDump(
    { host: '127.0.0.1', port: testEnv.pgPort, database: db },
    { user: 'postgres', env: process.env },
  );
}

describe('Karbor::PostgreSQL::Database and Karbor::Application (real PostgreSQL)', () => {
  const fx = useService('pg');
  const dbId = (name: string) => `127.0.0.1:${testEnv.pgPort}/${name}`;
  const tree = () => path.join(testEnv.workDir, 'app-tree');
  let checkpoint: string;

  before(() => {
    sql('postgres', 'CREATE DATABASE shop');
    sql(
      'shop',
      `CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), added timestamptz DEFAULT '2024-01-01');
       INSERT INTO items (name, price) SELECT 'item ' || g, g * 1.5 FROM generate_series(1, 5000) g;
       CREATE INDEX items_name ON items (name);
       CREATE VIEW cheap AS SELECT * FROM items WHERE price < 10;`,
    );
    fs.mkdirSync(path.join(testEnv.workDir, 'app-outside'), { recursive: true });
    makeTree(tree(), path.join(testEnv.workDir, 'app-outside'));
  });

  it('protects an application after quiescing it: its tree and database inside its hooks', async () => {
    const plan: Plan = {
      id: 'plan-shop',
      name: 'shop',
      provider_id: FS_PROVIDER,
      project_id: fx.cfg.projectId,
      resources: [
        {
          id: 'shop-app',
          type: 'Karbor::Application',
          name: 'shop',
          extra_info: { directories: [tree()], databases: [dbId('shop')] },
        },
      ],
    };
    const { checkpoint_id } = await fx.svc.executeOperation(plan, 'protect');
    const result = await fx.svc.waitForProtect(checkpoint_id);
    assert.equal(result.status, 'available', result.reason);
    checkpoint = checkpoint_id;
    const events = await fx.svc.checkpointEvents(FS_PROVIDER, checkpoint_id);
    const at = (id: string, hook: string, ev: string) =>
      events.findIndex((e) => e.resource_id === id && e.hook === hook && e.event === ev);
    assert.ok(
      at('shop-app', 'prepare_begin', 'end') < at(dbId('shop'), 'main', 'start'),
      'dump after quiesce',
    );
    assert.ok(
      at(dbId('shop'), 'main', 'end') < at('shop-app', 'complete', 'start'),
      'resume after dump',
    );
    assert.ok(
      at(tree(), 'main', 'end') < at('shop-app', 'complete', 'start'),
      'resume after the tree',
    );
    const doc = await fx.svc.showCheckpoint(FS_PROVIDER, checkpoint_id);
    assert.deepEqual(Object.values(doc.resources_status), ['available', 'available', 'available']);
  });

  it('restores the database into a new one that dumps identically, and the tree alongside', async () => {
    const { restore_id } = await fx.svc.restore({
      providerId: FS_PROVIDER,
      checkpointId: checkpoint,
      restoreTarget: {
        [dbId('shop')]: 'shop_restored',
        [tree()]: path.join(testEnv.workDir, 'app-restored'),
      },
    });
    assert.equal((await fx.svc.waitForRestore(restore_id)).status, 'success');
    assert.equal(
      sql('shop_restored', 'SELECT count(*), sum(price) FROM items').trim(),
      '5000|18753750.00',
    );
    assert.equal(await plainDump('shop_restored'), await plainDump('shop'));
    assert.deepEqual(
      describeTree(path.join(testEnv.workDir, 'app-restored')),
      describeTree(tree()),
    );
  });

  it('refuses up front to restore over a database with tables; overwrite replaces it whole', async () => {
    sql('shop', "UPDATE items SET name = 'changed' WHERE id = 1");
    sql('shop', 'CREATE TABLE extra (x int); INSERT INTO extra VALUES (1)');
    const restoresBefore = (await fx.svc.listRestores()).length;
    await assert.rejects(
      fx.svc.restore({
        providerId: FS_PROVIDER,
        checkpointId: checkpoint,
        restoreTarget: { [tree()]: path.join(testEnv.workDir, 'app-restored-2') },
      }),
      (err: Error & { code?: string }) => {
        assert.match(
          err.message,
          /database shop .* is not empty; restore with parameter overwrite=true/,
        );
        assert.equal(describeFailure(err).exitCode, EXIT.badInput);
        return true;
      },
    );
    assert.equal((await fx.svc.listRestores()).length, restoresBefore, 'no restore recorded');
    assert.ok(!fs.existsSync(path.join(testEnv.workDir, 'app-restored-2')), 'nothing written');
    assert.equal(sql('shop', 'SELECT name FROM items WHERE id = 1').trim(), 'changed');

    const forced = await fx.svc.restore({
      providerId: FS_PROVIDER,
      checkpointId: checkpoint,
      restoreTarget: { [tree()]: path.join(testEnv.workDir, 'app-restored-3') },
      parameters: { 'Karbor::PostgreSQL::Database': { overwrite: true } },
    });
    assert.equal((await fx.svc.waitForRestore(forced.restore_id)).status, 'success');
    assert.equal(sql('shop', 'SELECT name FROM items WHERE id = 1').trim(), 'item 1');
    // The same set of tables as the checkpoint: nothing of the old database left behind.
    assert.equal(sql('shop', "SELECT to_regclass('extra') IS NULL").trim(), 't');
    assert.equal(await plainDump('shop'), await plainDump('shop_restored'));
    assert.equal(
      sql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'karbor_%'").trim(),
      '0',
      'no staging or replaced database left',
    );
  });

  it('counts functions, types and schemas as contents: such a database is not overwritten', async () => {
    sql('postgres', 'CREATE DATABASE funcs_only');
    sql(
      'funcs_only',
      "CREATE SCHEMA keepme; CREATE FUNCTION important() RETURNS int LANGUAGE sql AS 'select 1'",
    );
    await assert.rejects(
      fx.svc.restore({
        providerId: FS_PROVIDER,
        checkpointId: checkpoint,
        restoreTarget: { [dbId('shop')]: 'funcs_only', [tree()]: path.join(testEnv.workDir, 'x') },
      }),
      /database funcs_only .* is not empty/,
    );
    assert.equal(sql('funcs_only', 'SELECT important()').trim(), '1');
  });

  it('never keeps credentials in the checkpoint', async () => {
    const doc = await fx.svc.showCheckpoint(FS_PROVIDER, checkpoint);
    assert.doesNotMatch(JSON.stringify(doc), /password/i);
  });
});
