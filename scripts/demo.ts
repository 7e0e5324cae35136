// The main job's last step: protect the sample plan through the client, read the checkpoint
// back from the bank, restore it, and print where to watch the runs in the Web UI.
import * as path from 'node:path';
import { readPlanFile } from '../client/plan-file';
import { ProtectionService } from '../client/protection-service';
import { configFromEnv } from '../common/config';
import { webUiWorkflowUrl } from '../temporal-config/dev-server';
import { endpoints, readState } from './dev';
import { PROJECT_ROOT } from './services';

async function main(): Promise<void> {
  const ep = endpoints(readState());
  const config = {
    ...configFromEnv(process.env),
    temporalAddress: ep.temporalAddress,
    namespace: ep.namespace,
    redisUrl: ep.redisUrl,
  };
  const plan = readPlanFile(path.join(PROJECT_ROOT, 'samples', 'noop-plan.json'));
  const svc = await ProtectionService.connect(config);
  try {
    const started = await svc.executeOperation(plan, 'protect');
    say(`protect started: checkpoint ${started.checkpoint_id} (workflow ${started.workflow_id})`);
    const result = await svc.waitForProtect(started.checkpoint_id);
    const doc = await svc.showCheckpoint(plan.provider_id, started.checkpoint_id);
    say(`checkpoint ${doc.id} in Redis: status ${doc.status}`);
    const ui = new URL(ep.uiUrl);
    const url = webUiWorkflowUrl(
      { ip: ui.hostname, uiPort: Number(ui.port) },
      ep.namespace,
      started.workflow_id,
    );
    const res = await fetch(url);
    say(`Web UI (HTTP ${res.status}): ${url}`);

    const restore = await svc.restore({ providerId: plan.provider_id, checkpointId: doc.id });
    const restored = await svc.waitForRestore(restore.restore_id);
    const record = await svc.showRestore(restore.restore_id);
    say(
      `restore ${record.id}: ${record.status} (${Object.entries(record.resources_status)
        .map(([id, s]) => `${id} ${s}`)
        .join(', ')})`,
    );
    say(
      `Web UI: ${webUiWorkflowUrl({ ip: ui.hostname, uiPort: Number(ui.port) }, ep.namespace, restore.workflow_id)}`,
    );
    process.stdout.write(`${doc.id}\n`);
    if (
      result.status !== 'available' ||
      doc.status !== 'available' ||
      res.status !== 200 ||
      restored.status !== 'success'
    ) {
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
