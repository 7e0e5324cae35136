// Drives one operation's hooks over the resource graph: Karbor's order (graph/), bounded
// concurrency, stop-on-first-failure with in-flight hooks cancelled, and a clean pause
// point for continue-as-new on very large graphs.
import type { ErrorCode } from '../common/error-codes';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { Activities } from '../activities';
import type { LeaseToken } from '../bank/bank';
import { HookSchedule } from '../graph/hook-schedule';
import type { Hook, HookTask } from '../graph/hook-schedule';
import { hostQueue, waitingText } from '../graph/host-pinning';
import { implementedBy, nodeHost } from '../graph/operation-schedule';
import type { OperationSchedule } from '../graph/operation-schedule';
import type { Operation } from '../plugins/types';
import { BANK_ACTIVITY, HOOK_ACTIVITY } from '../temporal-config/activity-options';
import { DEFAULT_HOST_WAIT_SECONDS } from '../temporal-config/names';
import type { Progress } from './definitions';

const hooks = proxyActivities<Activities>(HOOK_ACTIVITY);
const bank = proxyActivities<Activities>(BANK_ACTIVITY);
const queues = proxyActivities<Activities>({
  ...BANK_ACTIVITY,
  retry: { ...BANK_ACTIVITY.retry, maximumAttempts: 2 },
});

/** First look at the host queues this long after a pinned hook is scheduled. */
const HOST_WATCH_FIRST_S = 10;
/** While every host has a worker, looks back off to this (few timer events on long runs). */
const HOST_WATCH_MAX_S = 300;

export interface HookRunOptions {
  operation: Operation;
  operationId: string;
  checkpointId: string;
  schedule: OperationSchedule;
  concurrency: number;
  /** History length past which the run pauses so the workflow can continue as new. */
  continueAfterEvents: number;
  /** Where a previous run stopped. */
  snapshot?: string;
  /** Verify: a failure stops only what depends on it; everything else still runs. */
  keepGoing?: boolean;
  /** The current lease (protect); read at each hook start so renewals take effect. */
  lease?: () => LeaseToken | undefined;
  progress: Progress;
}

/**
 * Resources whose plugin implements none of the operation's hooks: no activity ever runs
 * for them, so the finishing step records their status.
 */
export function hooklessResources(schedule: OperationSchedule): string[] {
  return schedule.ids.filter(
    (_id, n) => (schedule.hooks[schedule.nodeTypes[n]!] ?? []).length === 0,
  );
}

export type HookRunOutcome =
  | { outcome: 'done' }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'paused'; snapshot: string }
  /** The workflow was cancelled; every hook has stopped. `cancel` is to be rethrown. */
  | { outcome: 'cancelled'; cancel: unknown };

export async function runHooks(opts: HookRunOptions): Promise<HookRunOutcome> {
  const { schedule, progress } = opts;
  const plan = new HookSchedule(schedule, implementedBy(schedule), opts.snapshot);
  const ids = schedule.ids;
  for (let n = 0; n < ids.length; n++) {
    if (plan.nodeDone(n)) progress.resources[ids[n]!] = 'done';
  }
  progress.total = ids.length;
  progress.done = Object.keys(progress.resources).length;

  const queue: HookTask[] = plan.takeReady();
  const finished: { task: HookTask; followers: Hook[]; error?: unknown }[] = [];
  const running = new Map<string, HookTask>();
  const failures: string[] = [];
  let pausing = false;
  let cancelled: unknown;
  const scope = new CancellationScope();

  const implemented = implementedBy(schedule);
  // Runs from before hooks could share an activity keep their one-hook-per-activity shape.
  const batching = patched('batch-own-hooks');
  const start = (task: HookTask) => {
    const key = `${task.node}.${task.hook}`;
    running.set(key, task);
    const id = ids[task.node]!;
    progress.resources[id] = 'running';
    progress.running = runningIds(running, ids);
    const followers = batching ? plan.claimFollowers(task) : [];
    const toRun = [task.hook, ...followers.filter((h) => implemented(task.node, h))];
    const last = plan.lastHookOf(task.node);
    const lease = opts.lease?.();
    const type = schedule.types[schedule.nodeTypes[task.node]!]!;
    const host = nodeHost(schedule, task.node);
    // A pinned resource's hooks go to its host's workers only, and give up on that host
    // after its wait limit (a schedule-to-start timeout is never retried).
    const placement: ActivityOptions = host
      ? {
          taskQueue: hostQueue(workflowInfo().taskQueue, host),
          scheduleToStartTimeout: `${hostWaitOf(schedule)}s`,
        }
      : {};
    scope
      .run(() =>
        // The summary is what the Web UI shows for the event: which resource, which hooks.
        hooks.runResourceHook.executeWithOptions(
          {
            ...HOOK_ACTIVITY,
            ...placement,
            summary: `${type} ${id}${host ? ` on ${host}` : ''}: ${toRun.join(', ')}`,
          },
          [
            {
              operation: opts.operation,
              operationId: opts.operationId,
              checkpointId: opts.checkpointId,
              node: task.node,
              resource: id,
              hooks: toRun,
              final: last !== undefined && toRun.includes(last),
              ...(lease ? { lease } : {}),
            },
          ],
        ),
      )
      .then(
        (result: { bytes: number; stats?: Progress['stats'] } | undefined) => {
          // Histories recorded before hooks reported bytes carry no result.
          progress.bytes += result?.bytes ?? 0;
          for (const [k, v] of Object.entries(result?.stats ?? {}) as [
            keyof NonNullable<Progress['stats']>,
            number,
          ][]) {
            progress.stats = { ...progress.stats, [k]: (progress.stats?.[k] ?? 0) + v };
          }
          finished.push({ task, followers });
        },
        (error: unknown) => finished.push({ task, followers, error }),
      );
  };

  const watch = schedule.hosts
    ? watchHostQueues(schedule, running, progress, () => failures[failures.length - 1])
    : undefined;
  try {
    return await drive();
  } finally {
    watch?.stop();
    delete progress.waitingFor;
  }

  async function drive(): Promise<HookRunOutcome> {
    while (!plan.finished) {
      const stopping = (failures.length > 0 && !opts.keepGoing) || cancelled !== undefined;
      if (!stopping && !pausing && workflowInfo().historyLength > opts.continueAfterEvents) {
        pausing = true;
      }
      while (!stopping && !pausing && queue.length > 0 && running.size < opts.concurrency) {
        start(queue.shift()!);
      }
      showProgress(progress, failures[failures.length - 1]);
      if (running.size === 0) break;
      try {
        if (cancelled === undefined) await condition(() => finished.length > 0);
        else await CancellationScope.nonCancellable(() => condition(() => finished.length > 0));
      } catch (err) {
        if (!isCancellation(err)) throw err;
        // Cancelled: no hook may start from now on (the flag is checked by every hook as it
        // starts, batched or not); then wait until the running ones have stopped.
        cancelled = err;
        await CancellationScope.nonCancellable(() =>
          bank.stopOperation(workflowInfo().runId, 'cancelled'),
        );
        continue;
      }
      for (const { task, followers, error } of finished.splice(0)) {
        running.delete(`${task.node}.${task.hook}`);
        const id = ids[task.node]!;
        if (error) {
          // A hook refused because the operation is stopping did not fail on its own.
          const counts =
            !isCancellation(error) &&
            failureType(error) !== ('OPERATION_STOPPED' satisfies ErrorCode);
          if (counts && cancelled === undefined && (failures.length === 0 || opts.keepGoing)) {
            const host = nodeHost(schedule, task.node);
            const why =
              host && neverStarted(error) ? noWorkerText(host, schedule) : describe(error);
            failures.push(`${schedule.types[schedule.nodeTypes[task.node]!]} ${id}: ${why}`);
            progress.failed += 1;
            progress.resources[id] = 'failed';
            // Stop everything else: no new hooks; running ones are cancelled.
            if (!opts.keepGoing) scope.cancel();
          }
          continue;
        }
        plan.complete(task);
        for (const hook of followers) plan.complete({ node: task.node, hook });
        if (plan.nodeDone(task.node)) {
          progress.resources[id] = 'done';
          progress.done += 1;
        } else if (progress.resources[id] === 'running') {
          progress.resources[id] = 'waiting';
        }
        queue.push(...plan.takeReady());
      }
      progress.running = runningIds(running, ids);
      showProgress(progress, failures[failures.length - 1]);
    }
    if (cancelled !== undefined) return { outcome: 'cancelled', cancel: cancelled };
    if (failures.length > 0) return { outcome: 'failed', reason: failures.join('; ') };
    if (!plan.finished) return { outcome: 'paused', snapshot: plan.snapshot() };
    return { outcome: 'done' };
  }
}

/** How long a pinned hook waits for its host's workers (schedules before hosts had none). */
function hostWaitOf(schedule: OperationSchedule): number {
  return schedule.hostWaitSeconds ?? DEFAULT_HOST_WAIT_SECONDS;
}

/** An activity that failed because no worker of its task queue ever took it. */
export function neverStarted(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}

function noWorkerText(host: string, schedule: OperationSchedule): string {
  return `${waitingText([host])}: none took its hooks within ${hostWaitOf(schedule)} s`;
}

/**
 * While pinned hooks run, looks now and then (an activity on the shared queue asks Temporal
 * about each host's queue) whether some host has hooks waiting that no worker takes, and
 * says so in the progress and the Web UI's current details. Timers only: the history grows
 * by a few events per look, and looks back off while every host has its workers.
 */
function watchHostQueues(
  schedule: OperationSchedule,
  running: Map<string, HookTask>,
  progress: Progress,
  lastFailure: () => string | undefined,
): { stop(): void } {
  const scope = new CancellationScope();
  let stopped = false;
  const look = async () => {
    let wait = HOST_WATCH_FIRST_S;
    while (!stopped) {
      await sleep(wait * 1000);
      const hosts = [
        ...new Set(
          [...running.values()]
            .map((t) => nodeHost(schedule, t.node))
            .filter((h): h is string => h !== undefined),
        ),
      ].sort();
      let waiting: string[] = [];
      try {
        if (hosts.length > 0) {
          waiting = await queues.hostsWithoutWorkers({
            taskQueue: workflowInfo().taskQueue,
            hosts,
          });
        }
      } catch (err) {
        // A failed look only costs the message, never the operation.
        if (isCancellation(err)) throw err;
      }
      const before = (progress.waitingFor ?? []).join(',');
      if (waiting.length > 0) progress.waitingFor = waiting;
      else delete progress.waitingFor;
      if (waiting.join(',') !== before) showProgress(progress, lastFailure());
      wait = waiting.length > 0 ? HOST_WATCH_FIRST_S : Math.min(wait * 2, HOST_WATCH_MAX_S);
    }
  };
  // Stopped, or the run was cancelled: the watch simply ends.
  scope.run(look).catch(() => undefined);
  return {
    stop() {
      stopped = true;
      scope.cancel();
    },
  };
}

/** Binary units, as the CLI prints them. */
function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/**
 * The Web UI's "current details" of a run: its phase, how far it got, what runs now and the
 * last failure. Not a command: changing it never affects replay.
 */
export function showProgress(progress: Progress, lastFailure?: string): void {
  const lines = [
    `**${progress.phase}**: ${progress.done} of ${progress.total} resources done` +
      (progress.failed > 0 ? `, ${progress.failed} failed` : '') +
      (progress.bytes > 0 ? `, ${bytesText(progress.bytes)} moved` : ''),
  ];
  if (progress.running.length > 0) {
    const shown = progress.running.slice(0, 10).join(', ');
    lines.push(`running: ${shown}${progress.running.length > 10 ? ', …' : ''}`);
  }
  if (progress.waitingFor?.length) lines.push(waitingText(progress.waitingFor));
  if (lastFailure) lines.push(`last failure: ${lastFailure}`);
  setCurrentDetails(lines.join('  \n'));
}

function runningIds(running: Map<string, HookTask>, ids: string[]): string[] {
  return [...new Set([...running.values()].map((t) => ids[t.node]!))];
}

/** The innermost message of an activity failure: the plugin's own words. */
export function describe(err: unknown): string {
  let cur: unknown = err;
  while (cur instanceof ActivityFailure && cur.cause) cur = cur.cause;
  if (cur instanceof ApplicationFailure || cur instanceof Error) return cur.message;
  return String(cur);
}

/** The code of the typed error behind an activity failure, if any. */
export function failureType(err: unknown): string | undefined {
  let cur: unknown = err;
  while (cur instanceof ActivityFailure && cur.cause) cur = cur.cause;
  return cur instanceof ApplicationFailure ? (cur.type ?? undefined) : undefined;
}
