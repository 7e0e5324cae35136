#!/usr/bin/env node
// karbor: the command-line face of the Protection Service (DESIGN.md section 9).
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { checkRedisUrl, configFromEnv } from '../common/config';
import { muteTlsIpAddressWarning } from '../common/temporal-profile';
import { PLAN_SCHEMA } from '../common/plan-schema';
import { WIRE_SCHEMAS } from '../common/wire-schemas';
import { InvalidArgumentError as KarborInvalidArgument } from '../common/errors';
import { MAX_HOOK_CONCURRENCY } from '../temporal-config/names';
import { workflowIds } from '../workflows/ids';
import type { KarborConfig } from '../common/config';
import { describeFailure, EXIT } from './exit-codes';
import { printJson, printProperties, printTable } from './output';
import { readPlanFile } from './plan-file';
import { ProtectionService } from './protection-service';
import { formatBytes, formatSeconds, watchProgress } from './progress-line';
import { addEngineCommands } from './cli-engine';
import { addRepositoryCommands } from './commands/repository';
import type { RetentionPolicy } from '../retention/policy';

interface GlobalOptions {
  address?: string;
  redisUrl?: string;
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
    .option('--redis-url <url>', "the bank's Redis (env REDIS_URL)")
    .option('--namespace <name>', 'Temporal namespace (env TEMPORAL_NAMESPACE)')
    .option('--project-id <id>', 'caller project (env KARBOR_PROJECT_ID)')
    .option('--json', 'print JSON documents only')
    // A usage error is one line naming the problem and where help is, not the whole help.
    .configureOutput({
      outputError: (str, write) =>
        write(`karbor: ${str.replace(/^error: /, '').trim()} (see --help)\n`),
    })
    .exitOverride();

  program.addHelpText('after', () => {
    try {
      const cfg = configFromEnv(process.env);
      return `\nEndpoints now: Temporal ${cfg.temporalAddress}, Redis ${cfg.redisUrl} (${cfg.endpointsFrom ?? ''}).\nWithout TEMPORAL_ADDRESS / REDIS_URL the CLI uses the dev stack this checkout started (npm run dev:up).`;
    } catch (err) {
      return `\n${(err as Error).message}`;
    }
  });
  addProviderCommands(program);
  addProtectableCommands(program);
  addPlanCommands(program);
  addProtectCommand(program);
  addRestoreCommands(program);
  addCheckpointCommands(program);
  addGcCommand(program);
  addSetupCommand(program);
  addRepositoryCommands(program, {
    config: (cmd) => configFor(globals(cmd)),
    json: (cmd) => globals(cmd).json ?? false,
    out,
  });
  addEngineCommands(program, {
    run: (body) => run(body),
    retentionOptions,
    retentionPolicyFrom: (o) => retentionPolicyFrom(o),
    out,
  });
  program
    .command('schema')
    .description(`print a wire document's JSON Schema (${Object.keys(WIRE_SCHEMAS).join(', ')})`)
    .argument('<document>')
    .action((name: string) => {
      const schema = (WIRE_SCHEMAS as Record<string, unknown>)[name];
      if (!schema) {
        throw new KarborInvalidArgument(
          `no schema named ${name}; one of ${Object.keys(WIRE_SCHEMAS).join(', ')}`,
        );
      }
      printJson(schema);
    });
  return program;
}

function addProviderCommands(program: Command): void {
  const provider = program.command('provider').description('protection providers');
  provider
    .command('list')
    .description('list providers')
    .option('--name <name>', 'only providers with this name')
    .option('--marker <provider_id>', 'start after this provider')
    .option('--limit <n>', 'at most this many', parseWhole)
    .action(
      run(async (svc, g, opts: { name?: string; marker?: string; limit?: number }) => {
        const list = await svc.listProviders(opts);
        if (g.json) printJson(list);
        else
          printTable(
            ['id', 'name', 'description'],
            list.map((p) => [p.id, p.name, p.description]),
          );
      }),
    );
  provider
    .command('show')
    .description("show a provider and its plugins' option, restore and saved-info schemas")
    .argument('<provider_id>')
    .action(
      run(async (svc, g, providerId: string) => {
        const p = await svc.showProvider(providerId);
        if (g.json) printJson(p);
        else printProperties(p as unknown as Record<string, unknown>);
      }),
    );
}

function addProtectableCommands(program: Command): void {
  const protectable = program
    .command('protectable')
    .description('resource types that can be protected');
  protectable
    .command('list')
    .description('list protectable resource types')
    .action(
      run(async (svc, g) => {
        const list = await svc.listProtectables();
        if (g.json) printJson(list);
        else
          printTable(
            ['type', 'dependent types', 'description'],
            list.map((p) => [p.name, p.dependent_types.join(', '), p.description]),
          );
      }),
    );
  protectable
    .command('instances')
    .description("list a type's instances, as its plugin finds them")
    .argument('<type>')
    .option('--provider-id <id>', "use this provider's plugin configuration")
    .option(
      '--host <name>',
      'for a type whose instances live on hosts (directories): ask this host (repeatable; default every host with workers)',
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .action(
      run(async (svc, g, type: string, opts: { providerId?: string; host?: string[] }) => {
        const { instances, silentHosts } = await svc.listProtectableInstances(
          type,
          opts.providerId,
          opts.host,
        );
        for (const s of silentHosts) process.stderr.write(`karbor: host ${s.host}: ${s.error}\n`);
        if (g.json) printJson(instances);
        else {
          const hosted = instances.some((r) => r.extra_info?.host !== undefined);
          printTable(
            [...(hosted ? ['host'] : []), 'id', 'type', 'name'],
            instances.map((r) => [
              ...(hosted ? [typeof r.extra_info?.host === 'string' ? r.extra_info.host : ''] : []),
              r.id,
              r.type,
              r.name,
            ]),
          );
        }
        return silentHosts.length > 0 && instances.length === 0 ? EXIT.failed : undefined;
      }),
    );
  protectable
    .command('show')
    .description('show one protectable type')
    .argument('<type>')
    .action(
      run(async (svc, g, type: string) => {
        const p = await svc.showProtectable(type);
        if (g.json) printJson(p);
        else printProperties(p as unknown as Record<string, unknown>);
      }),
    );
}

function addPlanCommands(program: Command): void {
  const plan = program.command('plan').description('stored plans');
  plan
    .command('create')
    .description('store a plan document; prints its id')
    .argument('<plan.json>')
    .action(
      run(async (svc, g, file: string) => {
        const doc = readPlanFile(file, { idOptional: true });
        const stored = await svc.createPlan(doc);
        if (g.json) printJson(stored);
        else out(stored.id);
      }),
    );
  plan
    .command('schema')
    .description("print the plan document's JSON Schema")
    .action(() => {
      printJson(PLAN_SCHEMA);
    });
  plan
    .command('list')
    .description("list the project's stored plans")
    .action(
      run(async (svc, g) => {
        const plans = await svc.plans.list(svc.caller);
        if (g.json) printJson(plans);
        else
          printTable(
            ['id', 'name', 'provider', 'resources'],
            plans.map((p) => [p.id, p.name, p.provider_id, String(p.resources.length)]),
          );
      }),
    );
  plan
    .command('show')
    .description('show a stored plan')
    .argument('<plan_id>')
    .action(
      run(async (svc, g, id: string) => {
        const p = await svc.plans.get(id, svc.caller);
        if (g.json) printJson(p);
        else printProperties(p as unknown as Record<string, unknown>);
      }),
    );
  retentionOptions(
    plan
      .command('retention')
      .description(
        "apply a retention policy to a plan's available checkpoints (restic forget's keep rules; --dry-run shows what would go and why)",
      )
      .argument('<plan_id>'),
  )
    .option('--dry-run', 'only show what would be kept and removed, and why')
    .action(
      run(async (svc, g, planId: string, opts: RetentionOptions) => {
        const policy = retentionPolicyFrom(opts);
        const { verdicts, deleting } = opts.dryRun
          ? { verdicts: await svc.retentionOf(planId, policy), deleting: [] as string[] }
          : await svc.applyRetentionTo(planId, policy);
        if (g.json) {
          printJson({ plan_id: planId, dry_run: opts.dryRun === true, verdicts, deleting });
          return;
        }
        printTable(
          ['checkpoint', 'created', 'verdict', 'why'],
          verdicts.map((v) => [
            v.id,
            new Date(v.createdAtMs).toISOString().slice(0, 19).replace('T', ' '),
            v.keep ? 'keep' : opts.dryRun ? 'would remove' : 'removing',
            v.reasons.join('; '),
          ]),
        );
      }),
    );
  plan
    .command('delete')
    .description('delete a stored plan (its checkpoints stay)')
    .argument('<plan_id>')
    .action(
      run(async (svc, g, id: string) => {
        await svc.plans.delete(id, svc.caller);
        if (g.json) printJson({ id, deleted: true });
        else out(`deleted plan ${id}`);
      }),
    );
}

function addProtectCommand(program: Command): void {
  program
    .command('protect')
    .description('protect a plan: prints the new checkpoint id (with --wait, waits for the end)')
    .argument('<plan>', 'a stored plan id, or a plan document file')
    .option('--wait', 'show progress and wait until the checkpoint is available or failed')
    .option('--concurrency <n>', 'hooks in flight at once (1-1000, default 32)', parseConcurrency)
    .action(
      run(
        async (svc, g, planArg: string, opts: { wait?: boolean; concurrency?: number }) => {
          const fromFile = looksLikeFile(planArg);
          const plan = fromFile ? readPlanFile(planArg) : await svc.plans.get(planArg, svc.caller);
          // The id is chosen here, so it can be said even while no worker answers yet.
          const checkpointId = randomUUID();
          await svc.temporalLink(); // unreachable is said at once, not as "no worker"
          const started = await whileStarting(
            `checkpoint ${checkpointId}`,
            svc.config.taskQueue,
            `karbor checkpoint watch ${plan.provider_id} ${checkpointId}`,
            () =>
              svc.executeOperation(fromFile ? plan : planArg, 'protect', {
                checkpointId,
                ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
              }),
          );
          if (!opts.wait) {
            if (g.json) printJson(started);
            else out(started.checkpoint_id);
            return EXIT.ok;
          }
          return waitAndReport(svc, g, {
            what: `checkpoint ${started.checkpoint_id}`,
            workflowId: started.workflow_id,
            wait: () => svc.waitForProtect(started.checkpoint_id),
            reattach: `karbor checkpoint watch ${plan.provider_id} ${started.checkpoint_id}`,
            document: () => svc.showCheckpoint(plan.provider_id, started.checkpoint_id),
            ok: (doc) => doc.status === 'available',
          });
        },
        (planArg: string, _opts: unknown) => void looksLikeFile(planArg),
      ),
    );
}

function addRestoreCommands(program: Command): void {
  const restore = program
    .command('restore')
    .description('restore a checkpoint, and inspect restores');
  restore
    .command('start', { isDefault: true })
    .description(
      'restore a checkpoint: prints the restore id (karbor restore <provider_id> <checkpoint_id>)',
    )
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .option(
      '--target <resource_id=target>',
      'restore a resource elsewhere (repeatable)',
      collectPairs,
    )
    .option(
      '--param <type[#id].key=value>',
      'a restore parameter (repeatable; value may be JSON)',
      collectParams,
    )
    .option('--wait', 'show progress and wait until the restore ends')
    .action(
      run(
        async (
          svc,
          g,
          providerId: string,
          checkpointId: string,
          opts: {
            target?: Record<string, string>;
            param?: Record<string, Record<string, unknown>>;
            wait?: boolean;
          },
        ) => {
          const started = await svc.restore({
            providerId,
            checkpointId,
            restoreTarget: opts.target ?? {},
            parameters: opts.param ?? {},
          });
          if (!g.json) {
            // Where each resource goes, as the restore checked it: in place is never silent.
            const { destinations = {} } = await svc.showRestore(started.restore_id);
            for (const [id, to] of Object.entries(destinations)) {
              process.stderr.write(`${id}: ${to === id ? 'in place' : `to ${to}`}\n`);
            }
          }
          if (!opts.wait) {
            if (g.json) printJson(started);
            else out(started.restore_id);
            return EXIT.ok;
          }
          return waitAndReport(svc, g, {
            what: `restore ${started.restore_id}`,
            workflowId: started.workflow_id,
            wait: () => svc.waitForRestore(started.restore_id),
            reattach: `karbor restore watch ${started.restore_id}`,
            document: () => svc.showRestore(started.restore_id),
            ok: (record) => record.status === 'success',
          });
        },
      ),
    );
  restore
    .command('cancel')
    .description('cancel a running restore: it ends failure, reason cancelled')
    .argument('<restore_id>')
    .action(
      run(async (svc, g, id: string) => {
        await svc.cancelRestore(id);
        if (g.json) printJson({ restore_id: id, cancelled: true });
        else out(`cancelling restore ${id}`);
      }),
    );
  restore
    .command('watch')
    .description('re-attach to a running restore and wait for it')
    .argument('<restore_id>')
    .action(
      run(async (svc, g, id: string) => {
        const record = await svc.showRestore(id);
        if (record.status === 'in_progress') {
          return waitAndReport(svc, g, {
            what: `restore ${id}`,
            workflowId: workflowIds.restore(id),
            wait: () => svc.waitForRestore(id),
            reattach: `karbor restore watch ${id}`,
            started: false,
            document: () => svc.showRestore(id),
            ok: (r) => r.status === 'success',
          });
        }
        if (g.json)
          process.stdout.write(
            `${JSON.stringify({ message_type: 'summary', running: false, result: record })}\n`,
          );
        else out(`${record.id} ${record.status}${record.reason ? `: ${record.reason}` : ''}`);
        return record.status === 'success' ? EXIT.ok : EXIT.failed;
      }),
    );
  restore
    .command('list')
    .description("list the project's restores, newest first")
    .option('--marker <restore_id>', 'start after this restore')
    .option('--limit <n>', 'at most this many', parseWhole)
    .option('--all-tenants', "every project's restores (needs KARBOR_ADMIN=1)")
    .action(
      run(async (svc, g, opts: { marker?: string; limit?: number; allTenants?: boolean }) => {
        const list = await svc.listRestores(opts);
        if (g.json) printJson(list);
        else
          printTable(
            ['id', 'status', 'checkpoint', 'created_at'],
            list.map((r) => [r.id, r.status, r.checkpoint_id, r.created_at]),
          );
      }),
    );
  restore
    .command('show')
    .description('show one restore record')
    .argument('<restore_id>')
    .action(
      run(async (svc, g, id: string) => {
        const r = await svc.showRestore(id);
        if (g.json) printJson(r);
        else printProperties(r as unknown as Record<string, unknown>);
      }),
    );
  restore
    .command('events')
    .description("a restore's operation log")
    .argument('<restore_id>')
    .action(
      run(async (svc, g, id: string) => {
        printEvents(g, await svc.restoreEvents(id));
      }),
    );
}

function addCheckpointCommands(program: Command): void {
  const checkpoint = program
    .command('checkpoint')
    .description('inspect, verify, cancel, reset and delete checkpoints');
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
    .action(
      run(async (svc, g, providerId: string, opts: CheckpointListOptions) => {
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
        if (g.json) return printJson(page);
        printTable(
          ['id', 'status', 'project', 'plan', 'created (UTC)', 'duration', 'size', 'verified'],
          page.checkpoints.map((c) => {
            const x = c.extra_info as {
              size_bytes?: number;
              finished_at_ms?: number;
              verify_status?: string;
              last_verified_at?: string;
            };
            const startMs = c.timestamp * 1000;
            return [
              c.id,
              c.status,
              c.project_id,
              c.protection_plan.name,
              new Date(startMs).toISOString().slice(0, 19).replace('T', ' '),
              x.finished_at_ms
                ? formatSeconds(Math.max(0, (x.finished_at_ms - startMs) / 1000))
                : '-',
              x.size_bytes !== undefined ? formatBytes(x.size_bytes) : '-',
              x.verify_status
                ? `${x.verify_status} ${String(x.last_verified_at ?? '').slice(0, 10)}`
                : '-',
            ];
          }),
        );
        if (page.next_marker) out(`next page: --marker ${page.next_marker}`);
      }),
    );
  checkpoint
    .command('show')
    .description('show one checkpoint document')
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .action(
      run(async (svc, g, providerId: string, checkpointId: string) => {
        const doc = await svc.showCheckpoint(providerId, checkpointId);
        if (g.json) printJson(doc);
        else printProperties(doc as unknown as Record<string, unknown>);
      }),
    );
  checkpoint
    .command('delete')
    .description('delete a checkpoint (available, error or error-deleting ones)')
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .option('--wait', 'show progress and wait until it is deleted')
    .action(
      run(async (svc, g, providerId: string, checkpointId: string, opts: { wait?: boolean }) => {
        const started = await svc.deleteCheckpoint(providerId, checkpointId);
        if (!opts.wait) {
          if (g.json) printJson(started);
          else out(`deleting ${checkpointId}`);
          return EXIT.ok;
        }
        return waitAndReport(svc, g, {
          what: `checkpoint ${checkpointId}`,
          workflowId: started.workflow_id,
          wait: () => svc.waitForDelete(checkpointId),
          reattach: `karbor checkpoint watch ${providerId} ${checkpointId}`,
          verb: 'deletion started',
          ok: (result) => result.status === 'deleted',
        });
      }),
    );
  checkpoint
    .command('watch')
    .description("re-attach to a checkpoint's running protect, delete or verify and wait for it")
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .action(
      run(async (svc, g, providerId: string, checkpointId: string) => {
        const doc = await svc.showCheckpoint(providerId, checkpointId);
        const common = {
          what: `checkpoint ${checkpointId}`,
          reattach: `karbor checkpoint watch ${providerId} ${checkpointId}`,
          started: false,
          document: () => svc.showCheckpoint(providerId, checkpointId),
        };
        if (doc.status === 'protecting') {
          return waitAndReport(svc, g, {
            ...common,
            workflowId: workflowIds.protect(checkpointId),
            wait: () => svc.waitForProtect(checkpointId),
            ok: (d) => d.status === 'available',
          });
        }
        if (doc.status === 'deleting') {
          return waitAndReport(svc, g, {
            ...common,
            workflowId: workflowIds.delete(checkpointId),
            wait: () => svc.waitForDelete(checkpointId),
            ok: (d) => d.status === 'deleted',
          });
        }
        if (await svc.isRunning(workflowIds.verify(checkpointId))) {
          return waitAndReport(svc, g, {
            ...common,
            document: undefined,
            workflowId: workflowIds.verify(checkpointId),
            wait: () => svc.waitForVerify(checkpointId),
            ok: (d) => d.status === 'verified',
          });
        }
        // Like the end of a --wait: with --json one summary line holding the document.
        if (g.json)
          process.stdout.write(
            `${JSON.stringify({ message_type: 'summary', running: false, result: doc })}\n`,
          );
        else out(`${doc.id} ${doc.status}${doc.reason ? `: ${doc.reason}` : ''} (nothing running)`);
        return doc.status === 'error' || doc.status === 'error-deleting' ? EXIT.failed : EXIT.ok;
      }),
    );
  checkpoint
    .command('cancel')
    .description('cancel a running protect: the checkpoint ends error, reason cancelled')
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .action(
      run(async (svc, g, providerId: string, checkpointId: string) => {
        await svc.cancelCheckpoint(providerId, checkpointId);
        if (g.json) printJson({ checkpoint_id: checkpointId, cancelled: true });
        else out(`cancelling ${checkpointId}`);
      }),
    );
  checkpoint
    .command('reset-state')
    .description('admin: force a checkpoint to available or error (refused while it runs)')
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .requiredOption('--state <available|error>', 'the state to set')
    .action(
      run(async (svc, g, providerId: string, checkpointId: string, opts: { state: string }) => {
        const doc = await svc.resetState(providerId, checkpointId, opts.state);
        if (g.json) printJson(doc);
        else out(`${doc.id} ${doc.status}`);
      }),
    );
  checkpoint
    .command('verify')
    .description('re-read every chunk of a checkpoint; report missing or corrupt data per resource')
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .option('--wait', 'show progress and wait for the verdict')
    .action(
      run(async (svc, g, providerId: string, checkpointId: string, opts: { wait?: boolean }) => {
        const started = await svc.verifyCheckpoint(providerId, checkpointId);
        if (!opts.wait) {
          if (g.json) printJson(started);
          else out(`verifying ${checkpointId}`);
          return EXIT.ok;
        }
        return waitAndReport(svc, g, {
          what: `checkpoint ${checkpointId}`,
          workflowId: started.workflow_id,
          wait: () => svc.waitForVerify(checkpointId),
          reattach: `karbor checkpoint watch ${providerId} ${checkpointId}`,
          verb: 'verify started',
          ok: (result) => result.status === 'verified',
        });
      }),
    );
  checkpoint
    .command('events')
    .description("a checkpoint's operation log: every hook's start, end and error")
    .argument('<provider_id>')
    .argument('<checkpoint_id>')
    .action(
      run(async (svc, g, providerId: string, checkpointId: string) => {
        printEvents(g, await svc.checkpointEvents(providerId, checkpointId));
      }),
    );
}

function addGcCommand(program: Command): void {
  program
    .command('gc')
    .description(
      'admin: garbage-collect now (settle operations that ended without a record, remove unreferenced chunks past the grace period)',
    )
    .option('--dry-run', 'only print what it would do')
    .action(
      run(async (svc, g, opts: { dryRun?: boolean }) => {
        const report = await svc.collectGarbage(opts.dryRun ?? false);
        if (g.json) return printJson(report);
        const verb = report.dry_run ? 'would' : 'did';
        out(`gc (${report.dry_run ? 'dry run' : 'done'}):`);
        for (const c of report.checkpoints) {
          out(`  checkpoint ${c.id} ${c.was} -> ${c.action}${c.reason ? ` (${c.reason})` : ''}`);
        }
        for (const r of report.restores) {
          out(`  restore ${r.id} in_progress -> ${r.action}${r.reason ? ` (${r.reason})` : ''}`);
        }
        for (const u of report.unreadable ?? []) {
          out(`  ${u.kind} ${u.id} could not be read, left for the next gc: ${u.error}`);
        }
        out(
          `  ${verb} remove ${report.chunks_removed} chunk(s) (${report.bytes_removed} bytes; ${report.packs_removed} pack(s) removed, ${report.packs_repacked} repacked), ${report.temp_files_removed} temporary file(s), ${report.operation_plans_removed} start plan(s)`,
        );
      }),
    );
}

function addSetupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      "admin: make a Temporal cluster ready for Karbor: register the namespace (if missing) and Karbor's search attributes on it; safe to run again",
    )
    .option(
      '--retention-days <n>',
      'history retention of a namespace it registers (1-3650)',
      (v: string) => {
        const n = parseWhole(v);
        if (n < 1 || n > 3650) throw new InvalidArgumentError(`expected 1 to 3650, got ${v}`);
        return n;
      },
      30,
    )
    .action(async (opts: { retentionDays: number }, cmd: Command) => {
      const g = globals(cmd);
      const cfg = configFor(g);
      const { connectTemporal } = await import('./temporal-link');
      const { setupCluster } = await import('./cluster-setup');
      const { connection } = await connectTemporal(cfg);
      try {
        const steps = await setupCluster(connection, {
          namespace: cfg.namespace,
          retentionDays: opts.retentionDays,
        });
        if (g.json) return printJson({ address: cfg.temporalAddress, steps });
        out(`Temporal at ${cfg.temporalAddress}:`);
        for (const s of steps)
          out(`  ${s.what}: ${s.result === 'created' ? 'registered' : 'already there'}`);
      } finally {
        await connection.close();
      }
    });
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

function printEvents(
  g: GlobalOptions,
  events: Awaited<ReturnType<ProtectionService['checkpointEvents']>>,
): void {
  if (g.json) return printJson(events);
  printTable(
    ['time', 'operation', 'resource', 'hook', 'event', 'attempt', 'detail'],
    events.map((e) => [
      e.ts,
      e.operation,
      `${e.resource_type} ${e.resource_id}`,
      e.hook,
      e.event,
      String(e.attempt),
      e.error ?? '',
    ]),
  );
}

/**
 * The end of every `--wait`: the live status while it runs, then the outcome. With --json:
 * status lines, then one summary line holding the result document; else the summary on
 * stderr and `<id> <status>[: reason]` on stdout. Exit 0 only when `ok`.
 */
async function waitAndReport<
  R,
  D extends { status: string; reason?: string } = R & { status: string; reason?: string },
>(
  svc: ProtectionService,
  g: GlobalOptions,
  o: {
    what: string;
    workflowId: string;
    wait: () => Promise<R>;
    reattach: string;
    /** The document to report (default: what `wait` returned). */
    document?: () => Promise<D>;
    ok: (doc: D) => boolean;
    started?: boolean;
    verb?: string;
  },
): Promise<number> {
  const { result, summary } = await watchProgress(svc, { ...o, json: g.json === true });
  const doc = o.document ? await o.document() : (result as unknown as D);
  if (g.json) {
    process.stdout.write(
      `${JSON.stringify({ ...(summary ?? { message_type: 'summary' }), result: doc })}\n`,
    );
  } else {
    const id = o.what.split(' ').pop();
    out(`${id} ${doc.status}${doc.reason ? `: ${doc.reason}` : ''}`);
  }
  return o.ok(doc) ? EXIT.ok : EXIT.failed;
}

interface RetentionOptions {
  maxBackups?: number;
  retentionDuration?: number;
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: string;
  dryRun?: boolean;
}

/** The retention policy options of `plan retention` and `scheduled-operation create|update`. */
function retentionOptions(cmd: Command): Command {
  return cmd
    .option('--max-backups <n>', 'keep at most n (the newest)', parseWhole)
    .option('--retention-duration <days>', 'remove those older than this many days', parseDays)
    .option('--keep-last <n>', 'keep the newest n', parseCount)
    .option('--keep-hourly <n>', 'keep the newest of each of the last n hours', parseCount)
    .option('--keep-daily <n>', 'keep the newest of each of the last n days', parseCount)
    .option('--keep-weekly <n>', 'keep the newest of each of the last n ISO weeks', parseCount)
    .option('--keep-monthly <n>', 'keep the newest of each of the last n months', parseCount)
    .option('--keep-yearly <n>', 'keep the newest of each of the last n years', parseCount)
    .option('--keep-within <duration>', 'keep all within this of the newest (e.g. 7d, 1y2m)');
}

function retentionPolicyFrom(o: RetentionOptions): RetentionPolicy {
  const p: RetentionPolicy = {};
  if (o.maxBackups !== undefined) p.max_backups = o.maxBackups;
  if (o.retentionDuration !== undefined) p.retention_duration = o.retentionDuration;
  if (o.keepLast !== undefined) p.keep_last = o.keepLast;
  if (o.keepHourly !== undefined) p.keep_hourly = o.keepHourly;
  if (o.keepDaily !== undefined) p.keep_daily = o.keepDaily;
  if (o.keepWeekly !== undefined) p.keep_weekly = o.keepWeekly;
  if (o.keepMonthly !== undefined) p.keep_monthly = o.keepMonthly;
  if (o.keepYearly !== undefined) p.keep_yearly = o.keepYearly;
  if (o.keepWithin !== undefined) p.keep_within = o.keepWithin;
  return p;
}

function parseDays(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0)) {
    throw new InvalidArgumentError(`expected a positive number of days, got ${v}`);
  }
  return n;
}

/** A keep rule's count: a whole number, or -1 for unlimited. */
function parseCount(v: string): number {
  return v === '-1' ? -1 : parseWhole(v);
}

/**
 * Starting an operation needs a worker (its first step records it). When none answers
 * within a few seconds, say so; Ctrl-C then leaves with how to find the operation later.
 */
async function whileStarting<T>(
  what: string,
  taskQueue: string,
  reattach: string,
  start: () => Promise<T>,
): Promise<T> {
  const slow = setTimeout(() => {
    process.stderr.write(
      `karbor: ${what} is not started yet: no worker answers on task queue ${taskQueue} (is one running? npm run worker); still waiting…\n`,
    );
  }, 5000);
  const onInterrupt = () => {
    process.stderr.write(
      `karbor: stopped waiting; ${what} starts when a worker polls ${taskQueue}. Find it with: ${reattach}\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await start();
  } finally {
    clearTimeout(slow);
    process.off('SIGINT', onInterrupt);
  }
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A plan argument that names a file (a path), rather than a stored plan's id. */
function looksLikeFile(arg: string): boolean {
  if (fs.existsSync(arg)) return true;
  if (/[/\\]|\.json$/i.test(arg)) {
    throw new KarborInvalidArgument(`plan file ${arg} does not exist`);
  }
  return false;
}

function parseConcurrency(v: string): number {
  const n = parseWhole(v);
  if (n < 1 || n > MAX_HOOK_CONCURRENCY) {
    throw new InvalidArgumentError(`expected 1 to ${MAX_HOOK_CONCURRENCY}, got ${v}`);
  }
  return n;
}

function parseWhole(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a whole number, got ${v}`);
  }
  return n;
}

function collectPairs(v: string, acc: Record<string, string> = {}): Record<string, string> {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected resource_id=target, got ${v}`);
  return { ...acc, [v.slice(0, eq)]: v.slice(eq + 1) };
}

/** `Karbor::Noop.delay_ms=100` or `Karbor::Noop#db-1.fail_on="main"`. */
function collectParams(
  v: string,
  acc: Record<string, Record<string, unknown>> = {},
): Record<string, Record<string, unknown>> {
  const eq = v.indexOf('=');
  const dot = v.lastIndexOf('.', eq);
  if (eq <= 0 || dot <= 0) throw new InvalidArgumentError(`expected type[#id].key=value, got ${v}`);
  const scope = v.slice(0, dot);
  const key = v.slice(dot + 1, eq);
  const raw = v.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare string
  }
  return { ...acc, [scope]: { ...(acc[scope] ?? {}), [key]: value } };
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

function configFor(g: GlobalOptions): KarborConfig {
  const cfg = configFromEnv(process.env);
  if (g.address) cfg.temporalAddress = g.address;
  if (g.redisUrl) cfg.redisUrl = checkRedisUrl(g.redisUrl, '--redis-url');
  if (g.namespace) cfg.namespace = g.namespace;
  if (g.projectId) cfg.projectId = g.projectId;
  return cfg;
}

/**
 * Wraps a command body: connects, runs, closes, and sets the exit code (a body returning
 * nothing succeeded). Commander passes the arguments, then the options, then the command.
 */
function run<A extends unknown[]>(
  body: (svc: ProtectionService, g: GlobalOptions, ...args: A) => Promise<number | void>,
  /** Checks of the arguments alone, before anything connects: bad input is exit 2 at once. */
  check: (...args: A) => void = () => undefined,
) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const g = globals(cmd);
    check(...(args.slice(0, -1) as A));
    const svc = await ProtectionService.connect(configFor(g), { lazyTemporal: true });
    try {
      const code = await body(svc, g, ...(args.slice(0, -1) as A));
      process.exitCode = code ?? EXIT.ok;
    } finally {
      await svc.close();
    }
  };
}

async function main(argv: string[]): Promise<void> {
  // A reader that went away (`karbor … | head`) is not an error: stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
  muteTlsIpAddressWarning('karbor');
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
