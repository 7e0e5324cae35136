// `--wait`: what an operation is doing while the CLI waits for it. On a terminal, one live
// line (percentage, bytes, files, rate over a recent window and an ETA from it, what runs,
// retries) and a summary at the end; with --json, one JSON status object per line, like
// restic. Ctrl-C stops the waiting, never the operation, and says how to re-attach.
import { waitingText } from '../graph/host-pinning';
import type { Progress } from '../workflows/definitions';
import type { ProtectionService, RunningHook } from './protection-service';

/** One status: what `--json --wait` prints per line and the live line shows. */
export interface Status {
  message_type: 'status';
  phase: string;
  /** 0..1; resources done plus the running ones' share of their bytes. */
  percent_done: number;
  resources_total: number;
  resources_done: number;
  resources_failed: number;
  bytes_done: number;
  /** Bytes of the running hooks that know their size, plus what finished hooks moved. */
  bytes_total: number;
  files_total: number;
  /** Bytes per second over the last few seconds. */
  bytes_per_second: number;
  seconds_elapsed: number;
  seconds_remaining?: number;
  running: string[];
  /** Hosts whose resources wait for a worker of their own (none is taking their hooks). */
  waiting_for_hosts?: string[];
  retries: { resource: string; attempt: number; max_attempts: number; error: string }[];
}

/** Bytes done over time, for a rate that follows the last seconds rather than the average. */
export class RateWindow {
  private readonly samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  add(t: number, bytes: number): number {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (bytes - first.bytes) / dt) : 0;
  }
}

/** The status from the workflow's progress and its running hooks' heartbeats. Pure. */
export function statusOf(
  p: Progress,
  hooks: RunningHook[],
  elapsedSeconds: number,
  rate: number,
): Status {
  const share = hooks.reduce(
    (n, h) => n + (h.bytesTotal > 0 ? Math.min(1, h.bytesDone / h.bytesTotal) : 0),
    0,
  );
  const runningResources = new Set(hooks.map((h) => h.resource));
  const percent =
    p.total > 0 ? Math.min(1, (p.done + Math.min(share, runningResources.size)) / p.total) : 0;
  const bytesDone = p.bytes + hooks.reduce((n, h) => n + h.bytesDone, 0);
  const known = hooks.reduce((n, h) => n + Math.max(h.bytesTotal, h.bytesDone), 0);
  const left = hooks.reduce((n, h) => n + Math.max(0, h.bytesTotal - h.bytesDone), 0);
  // An ETA only when every resource not done yet is running with a known size.
  const allKnown =
    p.done + p.failed + runningResources.size >= p.total && hooks.every((h) => h.bytesTotal > 0);
  const status: Status = {
    message_type: 'status',
    phase: p.phase,
    percent_done: Number(percent.toFixed(4)),
    resources_total: p.total,
    resources_done: p.done,
    resources_failed: p.failed,
    bytes_done: bytesDone,
    bytes_total: p.bytes + known,
    files_total: hooks.reduce((n, h) => n + h.filesTotal, 0) + (p.stats?.files ?? 0),
    bytes_per_second: Math.round(rate),
    seconds_elapsed: Number(elapsedSeconds.toFixed(1)),
    running: p.running,
    retries: hooks
      .filter((h) => h.attempt > 1)
      .map((h) => ({
        resource: h.resource,
        attempt: h.attempt,
        max_attempts: h.maxAttempts,
        error: h.lastFailure ?? '',
      })),
  };
  if (p.waitingFor?.length) status.waiting_for_hosts = p.waitingFor;
  if (allKnown && hooks.length > 0 && rate > 0) status.seconds_remaining = Math.round(left / rate);
  return status;
}

/**
 * The live line for a terminal of `columns` width. Pure. When it does not fit, the least
 * useful parts go first (elapsed time, files, rate), never the percentage, the ETA or a retry.
 */
export function statusLine(s: Status, columns = 100): string {
  const retried = new Set(s.retries.map((r) => r.resource));
  const others = s.running.filter((r) => !retried.has(r));
  // [text, priority]: higher survives longer.
  const parts: [string, number][] = [
    [`${s.phase} ${(s.percent_done * 100).toFixed(1)}%`, 9],
    [
      `${s.resources_done}/${s.resources_total} resources${s.resources_failed ? ` (${s.resources_failed} failed)` : ''}`,
      8,
    ],
  ];
  if (s.bytes_total > 0 || s.bytes_done > 0) {
    parts.push([
      `${formatBytes(s.bytes_done)}${s.bytes_total > s.bytes_done ? ` / ${formatBytes(s.bytes_total)}` : ''}`,
      6,
    ]);
  }
  if (s.files_total > 0) parts.push([`${s.files_total} files`, 2]);
  if (s.bytes_per_second > 0) parts.push([`${formatBytes(s.bytes_per_second)}/s`, 3]);
  parts.push([formatSeconds(s.seconds_elapsed), 1]);
  if (s.seconds_remaining !== undefined)
    parts.push([`ETA ${formatSeconds(s.seconds_remaining)}`, 7]);
  if (others.length > 0) {
    parts.push([
      `now ${others.slice(0, 2).join(', ')}${others.length > 2 ? ` +${others.length - 2}` : ''}`,
      4,
    ]);
  }
  if (s.waiting_for_hosts?.length) parts.push([waitingText(s.waiting_for_hosts), 8]);
  for (const r of s.retries.slice(0, 2)) {
    parts.push([`${r.resource} attempt ${r.attempt}/${r.max_attempts || '?'}: ${r.error}`, 5]);
  }
  const join = (ps: [string, number][]) => ps.map(([t]) => t).join(', ');
  let kept = parts;
  for (let p = 1; join(kept).length >= columns && p <= 8; p++)
    kept = kept.filter(([, pr]) => pr > p);
  const line = join(kept);
  return line.length < columns ? line : `${line.slice(0, columns - 2)}…`;
}

/** What the operation did, for the end: a line for people, an object for --json. */
export function summaryOf(
  p: Progress,
  seconds: number,
): { line: string; json: Record<string, unknown> } {
  const st = p.stats ?? {};
  const json = {
    message_type: 'summary',
    phase: p.phase,
    seconds: Number(seconds.toFixed(1)),
    resources_total: p.total,
    resources_done: p.done,
    resources_failed: p.failed,
    bytes: p.bytes,
    bytes_read: st.read ?? 0,
    bytes_new: st.stored ?? 0,
    bytes_deduplicated: st.deduplicated ?? 0,
    bytes_restored: st.restored ?? 0,
    files: st.files ?? 0,
  };
  const parts = [`${p.done}/${p.total} resources in ${formatSeconds(seconds)}`];
  if (st.read) parts.push(`${formatBytes(st.read)} read`);
  if (st.read || st.stored || st.deduplicated)
    parts.push(`${formatBytes(st.stored ?? 0)} new in the store`);
  if (st.deduplicated) parts.push(`${formatBytes(st.deduplicated)} deduplicated`);
  if (st.restored) parts.push(`${formatBytes(st.restored)} restored`);
  if (st.files) parts.push(`${st.files} files`);
  if (p.failed) parts.push(`${p.failed} failed`);
  return { line: parts.join(', '), json };
}

export interface WatchOptions<T> {
  /** `checkpoint <id>` or `restore <id>`: said first, so there is something to re-attach to. */
  what: string;
  workflowId: string;
  wait: () => Promise<T>;
  /** The command that re-attaches (`karbor checkpoint watch …`). */
  reattach: string;
  json: boolean;
  /** True when the operation was just started (not re-attached). */
  started?: boolean;
  /** What started (`started`, `deletion started`, `verify started`). */
  verb?: string;
}

/**
 * Waits for an operation, showing its status on a terminal (stderr) or as JSON lines
 * (stdout, with --json); off a terminal and without --json it shows the id, and a line when
 * the operation starts or stops waiting for a host's worker.
 */
export async function watchProgress<T>(
  svc: ProtectionService,
  o: WatchOptions<T>,
): Promise<{ result: T; summary?: Record<string, unknown> }> {
  const onInterrupt = () => {
    process.stderr.write(
      `\r\x1b[2Kkarbor: stopped waiting; the operation goes on. Re-attach with: ${o.reattach}\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  process.stderr.write(
    `${o.what} ${o.started === false ? 'is running' : (o.verb ?? 'started')}; follow it with: ${o.reattach}\n`,
  );
  const tty = process.stderr.isTTY === true;
  // Durations count from the run's start, also when re-attached later.
  const began =
    o.started === false ? await svc.startedAt(o.workflowId).catch(() => Date.now()) : Date.now();
  const window = new RateWindow();
  let last: Progress | undefined;
  let stop = false;
  // The loops below sleep between looks; the end of the operation wakes them at once.
  let wake = () => {};
  const ended = new Promise<void>((resolve) => (wake = resolve));
  const nap = (ms: number) => Promise.race([new Promise((r) => setTimeout(r, ms).unref()), ended]);
  const show = async () => {
    while (!stop) {
      try {
        const p = await svc.progress(o.workflowId);
        last = p;
        const hooks = await svc.runningHooks(o.workflowId);
        const s = statusOf(p, hooks, (Date.now() - began) / 1000, 0);
        s.bytes_per_second = Math.round(window.add(Date.now(), s.bytes_done));
        const withEta = statusOf(p, hooks, s.seconds_elapsed, s.bytes_per_second);
        if (o.json) process.stdout.write(`${JSON.stringify(withEta)}\n`);
        else if (tty)
          process.stderr.write(`\r\x1b[2K${statusLine(withEta, process.stderr.columns || 100)}`);
      } catch {
        // Not queryable for a moment (starting, continuing as new, just finished).
      }
      await nap(o.json ? 1000 : 500);
    }
  };
  // Off a terminal the only thing said while waiting is a wait that may last long: no
  // worker of a host takes that host's hooks (a line when it starts, one when it ends).
  const sayWaits = async () => {
    let said = '';
    // Quick operations are never asked: a host wait only matters once it lasts.
    await nap(2000);
    while (!stop) {
      const p = await svc.progress(o.workflowId).catch(() => undefined);
      const now = p?.waitingFor?.length ? waitingText(p.waitingFor) : '';
      if (p && now !== said) {
        process.stderr.write(`${o.what}: ${now || 'no longer waiting for a host'}\n`);
        said = now;
      }
      await nap(1000);
    }
  };
  const showing = tty || o.json ? show() : sayWaits();
  try {
    const result = await o.wait();
    stop = true;
    wake();
    await showing;
    if (tty && !o.json) process.stderr.write('\r\x1b[2K');
    const final = await svc.progress(o.workflowId).catch(() => last);
    if (!final) return { result };
    const { line, json } = summaryOf(final, (Date.now() - began) / 1000);
    if (!o.json) process.stderr.write(`${o.what}: ${line}\n`);
    return { result, summary: json };
  } finally {
    stop = true;
    wake();
    process.off('SIGINT', onInterrupt);
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
