// The main job's last step: make a sample application (a directory tree and a PostgreSQL
// database), protect it through the client, restore it elsewhere, and show that the
// restored tree and database equal the originals; print where to watch the runs.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProtectionService } from '../client/protection-service';
import { configFromEnv } from '../common/config';
import type { Plan } from '../common/documents';
import { treeFingerprint } from '../plugins/directory/tree';
import { comparableDump, psql } from '../plugins/postgresql/pg-tools';
import { webUiWorkflowUrl } from '../temporal-config/dev-server';
import { endpoints, readState, runDir } from './dev';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const SAMPLE_DB = 'karbor_sample';

/** The sample application's data, made once and kept between runs. */
async function makeSample(dir: string, pgPort: number): Promise<void> {
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'uploads', 'empty'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'config', 'app.ini'), '[server]\nport = 8080\n');
    fs.chmodSync(path.join(dir, 'config', 'app.ini'), 0o640);
    fs.writeFileSync(path.join(dir, 'uploads', 'photo.bin'), randomBytes(5 * 1024 * 1024));
    fs.writeFileSync(
      path.join(dir, 'uploads', 'notes.txt'),
      'hello from the sample app\n'.repeat(1000),
    );
    fs.symlinkSync('../config/app.ini', path.join(dir, 'uploads', 'current-config'));
  }
  const db = { host: '127.0.0.1', port: pgPort, database: SAMPLE_DB };
  const access = { user: 'postgres', env: process.env };
  const exists = await psql(
    db,
    access,
    `SELECT 1 FROM pg_database WHERE datname = '${SAMPLE_DB}'`,
    'postgres',
  );
  if (exists.length === 0) {
    await psql(db, access, `CREATE DATABASE ${SAMPLE_DB}`, 'postgres');
    await psql(
      db,
      access,
      `CREATE TABLE orders (id serial PRIMARY KEY, customer text, total numeric(10,2));
       INSERT INTO orders (customer, total) SELECT 'customer ' || g, g * 2.5 FROM generate_series(1, 10000) g;`,
    );
  }
}

async function main(): Promise<void> {
  const ep = endpoints(readState());
  const config = {
    ...configFromEnv(process.env),
    temporalAddress: ep.temporalAddress,
    namespace: ep.namespace,
    redisUrl: ep.redisUrl,
  };
  const sampleDir = path.join(runDir(), 'sample', 'app');
  await makeSample(sampleDir, ep.postgresPort);
  const dbId = `127.0.0.1:${ep.postgresPort}/${SAMPLE_DB}`;
  const plan: Plan = {
    id: 'sample-app',
    name: 'sample application',
    provider_id: FS_PROVIDER,
    project_id: config.projectId,
    resources: [
      {
        id: 'sample-app',
        type: 'Karbor::Application',
        name: 'sample app',
        extra_info: { directories: [sampleDir], databases: [dbId] },
      },
    ],
  };
  const ui = new URL(ep.uiUrl);
  const link = (workflowId: string) =>
    webUiWorkflowUrl({ ip: ui.hostname, uiPort: Number(ui.port) }, ep.namespace, workflowId);

  const svc = await ProtectionService.connect(config);
  try {
    const started = await svc.executeOperation(plan, 'protect');
    say(`protect started: checkpoint ${started.checkpoint_id} (workflow ${started.workflow_id})`);
    const result = await svc.waitForProtect(started.checkpoint_id);
    const doc = await svc.showCheckpoint(plan.provider_id, started.checkpoint_id);
    say(
      `checkpoint ${doc.id} in Redis: status ${doc.status}${doc.reason ? ` (${doc.reason})` : ''}`,
    );
    const res = await fetch(link(started.workflow_id));
    say(`Web UI (HTTP ${res.status}): ${link(started.workflow_id)}`);

    const tag = doc.id.slice(0, 8);
    const restoredDir = path.join(runDir(), 'sample', `restored-${tag}`);
    const restoredDb = `${SAMPLE_DB}_restored_${tag}`;
    const restore = await svc.restore({
      providerId: plan.provider_id,
      checkpointId: doc.id,
      restoreTarget: { [sampleDir]: restoredDir, [dbId]: restoredDb },
    });
    const restored = await svc.waitForRestore(restore.restore_id);
    const record = await svc.showRestore(restore.restore_id);
    say(
      `restore ${record.id}: ${record.status} (${Object.entries(record.resources_status)
        .map(([id, s]) => `${id} ${s}`)
        .join(', ')})`,
    );
    say(`Web UI: ${link(restore.workflow_id)}`);

    const treeSame =
      restored.status === 'success' &&
      JSON.stringify(treeFingerprint(restoredDir)) === JSON.stringify(treeFingerprint(sampleDir));
    const pg = (database: string) => ({ host: '127.0.0.1', port: ep.postgresPort, database });
    const access = { user: 'postgres', env: process.env };
    const dbSame =
      restored.status === 'success' &&
      (await comparableDump(pg(restoredDb), access)) ===
        (await comparableDump(pg(SAMPLE_DB), access));
    say(`restored tree ${restoredDir} equals the original: ${treeSame ? 'yes' : 'NO'}`);
    say(
      `restored database ${restoredDb} dumps identically to ${SAMPLE_DB}: ${dbSame ? 'yes' : 'NO'}`,
    );
    process.stdout.write(`${doc.id}\n`);
    if (result.status !== 'available' || res.status !== 200 || !treeSame || !dbSame) {
      process.exitCode = 1;
    }
  } finally {
    await svc.close();
  }
}

function say(msg: string): void {
  process.stderr.write(`demo: ${msg}\n`);
}

main().catch((err: unknown) => {
  say(`failed: ${(err as Error).message}`);
  process.exit(1);
});
