// `karbor trigger …` and `karbor scheduled-operation …`: the operation engine's commands.
import type { Command } from 'commander';
import type { OperationType, OverlapPolicy } from '../operation-engine/documents';
import type { RetentionPolicy } from '../retention/policy';
import type { TriggerProperties } from '../triggers/time-spec';
import { printJson, printProperties, printTable } from './output';
import type { ProtectionService } from './protection-service';

type Body<A extends unknown[]> = (
  svc: ProtectionService,
  g: { json?: boolean },
  ...args: A
) => Promise<number | void>;

export interface EngineCliHelpers {
  run<A extends unknown[]>(body: Body<A>): (...args: unknown[]) => Promise<void>;
  /** Adds --max-backups, --retention-duration and the --keep-* options. */
  retentionOptions(cmd: Command): Command;
  retentionPolicyFrom(opts: object): RetentionPolicy;
  out(line: string): void;
}

interface TriggerOptions {
  format?: TriggerProperties['format'];
  pattern?: string;
  startTime?: string;
  endTime?: string;
  window?: string;
  timezone?: string;
  name?: string;
}

function propertiesFrom(o: TriggerOptions, base?: TriggerProperties): TriggerProperties {
  const p = { ...(base ?? {}) } as TriggerProperties;
  if (o.format !== undefined) p.format = o.format;
  if (o.pattern !== undefined) p.pattern = o.pattern;
  if (o.startTime !== undefined) p.start_time = o.startTime;
  if (o.endTime !== undefined) p.end_time = o.endTime;
  if (o.window !== undefined) p.window = Number(o.window);
  if (o.timezone !== undefined) p.timezone = o.timezone;
  return p;
}

const triggerFlags = (cmd: Command) =>
  cmd
    .option(
      '--format <crontab|calendar>',
      'crontab (5 fields, or 6 with seconds) or calendar (an iCalendar RRULE)',
    )
    .option(
      '--pattern <pattern>',
      "the crontab line or the RRULE (e.g. '0 2 * * *', 'FREQ=DAILY;BYHOUR=2')",
    )
    .option('--start-time <iso>', 'no run before this time')
    .option('--end-time <iso>', 'no run after this time')
    .option('--window <seconds>', 'how late a missed run may still start (default 60)')
    .option('--timezone <zone>', 'IANA time zone of the pattern (default UTC)');

export function addEngineCommands(program: Command, h: EngineCliHelpers): void {
  const trigger = program
    .command('trigger')
    .description('time triggers: when scheduled operations run');
  triggerFlags(
    trigger
      .command('create')
      .description('create a time trigger; prints its id')
      .argument('<name>'),
  ).action(
    h.run(async (svc, g, name: string, o: TriggerOptions) => {
      const t = await svc.engine.createTrigger({ name, properties: propertiesFrom(o) });
      if (g.json) printJson(t);
      else h.out(t.id);
    }),
  );
  trigger
    .command('list')
    .description("the project's triggers")
    .action(
      h.run(async (svc, g) => {
        const list = await svc.engine.listTriggers();
        if (g.json) return printJson(list);
        printTable(
          ['id', 'name', 'format', 'pattern', 'timezone'],
          list.map((t) => [
            t.id,
            t.name,
            t.properties.format,
            t.properties.pattern.replace(/\s*\n\s*/g, ' '),
            t.properties.timezone ?? 'UTC',
          ]),
        );
      }),
    );
  trigger
    .command('show')
    .description('a trigger, with its next five times')
    .argument('<trigger_id>')
    .action(
      h.run(async (svc, g, id: string) => {
        const t = await svc.engine.showTrigger(id);
        if (g.json) printJson(t);
        else printProperties(t as unknown as Record<string, unknown>);
      }),
    );
  triggerFlags(
    trigger
      .command('update')
      .description('change a trigger (its scheduled operations follow)')
      .argument('<trigger_id>')
      .option('--name <name>', 'a new name'),
  ).action(
    h.run(async (svc, g, id: string, o: TriggerOptions) => {
      const current = await svc.engine.triggers.get(id, svc.caller);
      const t = await svc.engine.updateTrigger(id, {
        ...(o.name !== undefined ? { name: o.name } : {}),
        properties: propertiesFrom(o, current.properties),
      });
      if (g.json) printJson(t);
      else h.out(`updated trigger ${t.id}`);
    }),
  );
  trigger
    .command('delete')
    .description('delete a trigger (refused while a scheduled operation uses it)')
    .argument('<trigger_id>')
    .action(
      h.run(async (svc, g, id: string) => {
        await svc.engine.deleteTrigger(id);
        if (g.json) printJson({ id, deleted: true });
        else h.out(`deleted trigger ${id}`);
      }),
    );

  const op = program
    .command('scheduled-operation')
    .description(
      'operations a trigger starts: protect, retention_protect or verify of a stored plan (Temporal Schedules karbor-op-<id>)',
    );
  interface OpOptions {
    type?: OperationType;
    trigger?: string;
    plan?: string;
    provider?: string;
    description?: string;
    disabled?: boolean;
    overlap?: OverlapPolicy;
    name?: string;
  }
  const definitionOf = async (
    svc: ProtectionService,
    o: OpOptions & object,
    base?: { provider_id: string; plan_id: string; retention?: RetentionPolicy },
  ) => {
    const planId = o.plan ?? base?.plan_id ?? '';
    const providerId =
      o.provider ??
      (o.plan ? (await svc.plans.get(o.plan, svc.caller)).provider_id : (base?.provider_id ?? ''));
    const retention = h.retentionPolicyFrom(o);
    const hasRetention = Object.keys(retention).length > 0;
    return {
      provider_id: providerId,
      plan_id: planId,
      ...(hasRetention ? { retention } : base?.retention ? { retention: base.retention } : {}),
    };
  };
  h.retentionOptions(
    op
      .command('create')
      .description('create a scheduled operation and its Schedule; prints its id')
      .argument('<name>')
      .requiredOption('--type <protect|retention_protect|verify>', 'what each run does')
      .requiredOption('--trigger <trigger_id>', 'when it runs')
      .requiredOption('--plan <plan_id>', 'the stored plan it works on')
      .option('--provider <provider_id>', "the plan's provider (default: the plan's own)")
      .option('--description <text>', 'what it is for')
      .option('--disabled', 'create it paused')
      .option(
        '--overlap <policy>',
        'when a run is due while one runs: skip (default), buffer_one, buffer_all, cancel_other, allow_all',
      ),
  ).action(
    h.run(async (svc, g, name: string, o: OpOptions) => {
      const created = await svc.engine.createScheduledOperation({
        name,
        operation_type: o.type!,
        trigger_id: o.trigger!,
        operation_definition: await definitionOf(svc, o),
        ...(o.description !== undefined ? { description: o.description } : {}),
        enabled: o.disabled !== true,
        ...(o.overlap !== undefined ? { overlap_policy: o.overlap } : {}),
      });
      if (g.json) printJson(created);
      else h.out(created.id);
    }),
  );
  op.command('list')
    .description("the project's scheduled operations")
    .action(
      h.run(async (svc, g) => {
        const list = await svc.engine.listScheduledOperations();
        if (g.json) return printJson(list);
        printTable(
          ['id', 'name', 'type', 'plan', 'trigger', 'enabled'],
          list.map((s) => [
            s.id,
            s.name,
            s.operation_type,
            s.operation_definition.plan_id,
            s.trigger_id,
            String(s.enabled),
          ]),
        );
      }),
    );
  op.command('show')
    .description('a scheduled operation, with its Schedule: paused, next and recent runs')
    .argument('<scheduled_operation_id>')
    .action(
      h.run(async (svc, g, id: string) => {
        const s = await svc.engine.showScheduledOperation(id);
        if (g.json) printJson(s);
        else printProperties(s as unknown as Record<string, unknown>);
      }),
    );
  h.retentionOptions(
    op
      .command('update')
      .description('change a scheduled operation (its Schedule follows)')
      .argument('<scheduled_operation_id>')
      .option('--name <name>', 'a new name')
      .option('--type <protect|retention_protect|verify>', 'what each run does')
      .option('--trigger <trigger_id>', 'when it runs')
      .option('--plan <plan_id>', 'the stored plan it works on')
      .option('--description <text>', 'what it is for')
      .option('--overlap <policy>', 'skip, buffer_one, buffer_all, cancel_other or allow_all'),
  ).action(
    h.run(async (svc, g, id: string, o: OpOptions) => {
      const current = await svc.engine.operations.get(id, svc.caller);
      const updated = await svc.engine.updateScheduledOperation(id, {
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.type !== undefined ? { operation_type: o.type } : {}),
        ...(o.trigger !== undefined ? { trigger_id: o.trigger } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.overlap !== undefined ? { overlap_policy: o.overlap } : {}),
        operation_definition: await definitionOf(svc, o, current.operation_definition),
      });
      if (g.json) printJson(updated);
      else h.out(`updated scheduled operation ${updated.id}`);
    }),
  );
  const simple = (
    name: string,
    description: string,
    act: (svc: ProtectionService, id: string) => Promise<unknown>,
    said: string,
  ) =>
    op
      .command(name)
      .description(description)
      .argument('<scheduled_operation_id>')
      .action(
        h.run(async (svc, g, id: string) => {
          await act(svc, id);
          if (g.json) printJson({ id, [name.replace('-', '_')]: true });
          else h.out(`${said} ${id}`);
        }),
      );
  simple(
    'delete',
    'delete a scheduled operation and its Schedule',
    (svc, id) => svc.engine.deleteScheduledOperation(id),
    'deleted scheduled operation',
  );
  simple(
    'pause',
    'pause its Schedule: no new runs until resumed',
    (svc, id) => svc.engine.pause(id, true),
    'paused',
  );
  simple('resume', 'resume its Schedule', (svc, id) => svc.engine.pause(id, false), 'resumed');
  simple(
    'run-now',
    'start one run now (the overlap policy still applies)',
    (svc, id) => svc.engine.runNow(id),
    'started a run of',
  );
  op.command('backfill')
    .description('start the runs the trigger would have started between two times')
    .argument('<scheduled_operation_id>')
    .requiredOption('--start <iso>', 'from this time')
    .requiredOption('--end <iso>', 'to this time')
    .action(
      h.run(async (svc, g, id: string, o: { start: string; end: string }) => {
        await svc.engine.backfill(id, Date.parse(o.start), Date.parse(o.end));
        if (g.json) printJson({ id, backfill: { start: o.start, end: o.end } });
        else h.out(`backfilling ${id} from ${o.start} to ${o.end}`);
      }),
    );
}
