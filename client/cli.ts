#!/usr/bin/env node
// karbor: the command-line face of the Protection Service (DESIGN.md section 9).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { configFromEnv } from '../common/config';
import type { KarborConfig } from '../common/config';
import { describeFailure, EXIT } from './exit-codes';
import { printJson, printProperties, printTable } from './output';
import { readPlanFile } from './plan-file';
import { ProtectionService } from './protection-service';

interface GlobalOptions {
  address?: string;
  namespace?: string;
  projectId?: string;
  json?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

function buildProgram(): Command {
  const program = new Command('karbor')
    .description('Protect and restore plans of resources; checkpoints live in a Redis bank.')
    .version(version, '-V, --version')
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS)')
    .option('--namespace <name>', 'Temporal namespace (env TEMPORAL_NAMESPACE)')
    .option('--project-id <id>', 'caller project (env KARBOR_PROJECT_ID)')
    .option('--json', 'print JSON documents only')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('protect')
    .description('start a protect operation; prints the new checkpoint id')
    .argument('<plan.json>', 'plan document file')
    .option('--wait', 'wait until the checkpoint is available or failed')
    .action(async (planFile: string, opts: { wait?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const plan = readPlanFile(planFile);
      await withService(g, async (svc) => {
        const started = await svc.executeOperation(plan, 'protect');
        if (!opts.wait) {
          if (g.json) printJson(started);
          else process.stdout.write(`${started.checkpoint_id}\n`);
          return EXIT.ok;
        }
        const result = await svc.waitForProtect(started.checkpoint_id);
        const doc = await svc.showCheckpoint(plan.provider_id, started.checkpoint_id);
        if (g.json) printJson(doc);
        else
          process.stdout.write(`${doc.id} ${doc.status}${doc.reason ? `: ${doc.reason}` : ''}\n`);
        return result.status === 'available' ? EXIT.ok : EXIT.failed;
      });
    });

  const checkpoint = program.command('checkpoint').description('inspect checkpoints');
  checkpoint
    .command('show')
    .description('show one checkpoint document')
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .action(async (providerId: string, checkpointId: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      await withService(g, async (svc) => {
        const doc = await svc.showCheckpoint(providerId, checkpointId);
        if (g.json) printJson(doc);
        else printProperties(doc as unknown as Record<string, unknown>);
        return EXIT.ok;
      });
    });

  checkpoint
    .command('list')
    .description("list a provider's checkpoints, newest first")
    .argument('<provider_id>')
    .option('--plan-id <id>', 'only checkpoints of this plan')
    .option('--start-date <YYYY-MM-DD>', 'created on or after this day (UTC)')
    .option('--end-date <YYYY-MM-DD>', 'created on or before this day (UTC)')
    .option('--all-tenants', "every project's checkpoints (needs KARBOR_ADMIN=1)")
    .option('--marker <checkpoint_id>', 'start after this checkpoint')
    .option('--limit <n>', 'at most this many (default 100)', parseWhole)
    .option('--sort-dir <asc|desc>', 'order by creation time (default desc)')
    .action(async (providerId: string, opts: CheckpointListOptions, cmd: Command) => {
      const g = globals(cmd);
      await withService(g, async (svc) => {
        const page = await svc.listCheckpoints(providerId, {
          ...(opts.planId ? { planId: opts.planId } : {}),
          ...(opts.startDate ? { startDate: opts.startDate } : {}),
          ...(opts.endDate ? { endDate: opts.endDate } : {}),
          ...(opts.allTenants ? { allTenants: true } : {}),
          ...(opts.allTenants && g.projectId ? { projectId: g.projectId } : {}),
          ...(opts.marker ? { marker: opts.marker } : {}),
          ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
          ...(opts.sortDir ? { sortDir: opts.sortDir as 'asc' | 'desc' } : {}),
        });
        if (g.json) printJson(page);
        else {
          printTable(
            ['id', 'status', 'project', 'plan', 'created_at'],
            page.checkpoints.map((c) => [
              c.id,
              c.status,
              c.project_id,
              c.protection_plan.name,
              c.created_at,
            ]),
          );
          if (page.next_marker) process.stdout.write(`next page: --marker ${page.next_marker}\n`);
        }
        return EXIT.ok;
      });
    });

  return program;
}

interface CheckpointListOptions {
  planId?: string;
  startDate?: string;
  endDate?: string;
  allTenants?: boolean;
  marker?: string;
  limit?: number;
  sortDir?: string;
}

function parseWhole(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a whole number, got ${v}`);
  }
  return n;
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

function configFor(g: GlobalOptions): KarborConfig {
  const cfg = configFromEnv(process.env);
  if (g.address) cfg.temporalAddress = g.address;
  if (g.namespace) cfg.namespace = g.namespace;
  if (g.projectId) cfg.projectId = g.projectId;
  return cfg;
}

async function withService(
  g: GlobalOptions,
  body: (svc: ProtectionService) => Promise<number>,
): Promise<void> {
  const svc = await ProtectionService.connect(configFor(g));
  try {
    process.exitCode = await body(svc);
  } finally {
    await svc.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
      return;
    }
    const failure = describeFailure(err);
    process.stderr.write(`karbor: ${failure.message}\n`);
    process.exitCode = failure.exitCode;
  }
}

void main(process.argv);
