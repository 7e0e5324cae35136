#!/usr/bin/env node
// karbor: the command-line face of the Protection Service (DESIGN.md section 9).
import { Command, CommanderError } from 'commander';
import { configFromEnv } from '../common/config';
import type { KarborConfig } from '../common/config';
import { describeFailure, EXIT } from './exit-codes';
import { printJson, printProperties } from './output';
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

  return program;
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
