// Which checkpoints of a plan a retention run keeps, and why: restic `forget`'s keep rules
// (last, hourly, daily, weekly, monthly, yearly, within) plus Karbor's `max_backups` and
// `retention_duration` as hard limits on top. Pure code: times in, verdicts out.
import { InvalidArgumentError } from '../common/errors';

export interface RetentionPolicy {
  /** Karbor: keep at most this many (the newest), whatever the keep rules say. */
  max_backups?: number;
  /** Karbor: remove any older than this many days (relative to the run's `now`). */
  retention_duration?: number;
  keep_last?: number;
  keep_hourly?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
  keep_yearly?: number;
  /** restic's --keep-within: everything newer than this before the newest one (`2d4h`, `30d`, `1y2m`). */
  keep_within?: string;
}

export interface Candidate {
  id: string;
  /** When the checkpoint was made (ms since the epoch). */
  createdAtMs: number;
}

export interface Verdict {
  id: string;
  createdAtMs: number;
  keep: boolean;
  /** Every rule that kept it, or why it goes. */
  reasons: string[];
}

const COUNT_RULES = [
  ['keep_last', 'last'],
  ['keep_hourly', 'hourly'],
  ['keep_daily', 'daily'],
  ['keep_weekly', 'weekly'],
  ['keep_monthly', 'monthly'],
  ['keep_yearly', 'yearly'],
] as const;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** ISO 8601 week of a UTC date, as restic buckets weeks: `2026-W48`. */
function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${pad(week)}`;
}

/** The bucket a checkpoint falls in for a rule (UTC calendar). */
function bucket(rule: (typeof COUNT_RULES)[number][1], c: Candidate, index: number): string {
  const d = new Date(c.createdAtMs);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  switch (rule) {
    case 'last':
      return String(index);
    case 'hourly':
      return `${day} ${pad(d.getUTCHours())}h`;
    case 'daily':
      return day;
    case 'weekly':
      return isoWeek(d);
    case 'monthly':
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
    case 'yearly':
      return String(d.getUTCFullYear());
  }
}

/** restic's duration syntax: any of `<n>y<n>m<n>d<n>h`, in that order; months of 30 days. */
export function parseWithin(text: string): number {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(text);
  if (!m || text === '') {
    throw new InvalidArgumentError(`keep_within must look like 1y2m3d4h (any part), got ${text}`);
  }
  const [y, mo, d, h] = m.slice(1).map((v) => Number(v ?? 0));
  return ((y! * 365 + mo! * 30 + d!) * 24 + h!) * 3600 * 1000;
}

const isCount = (v: unknown) =>
  typeof v === 'number' && Number.isInteger(v) && v >= -1 && v <= 1_000_000;

/** Refuses a policy that would be misread: unknown keys, bad numbers, nothing to go by. */
export function checkPolicy(p: RetentionPolicy): void {
  const known = new Set<string>([
    'max_backups',
    'retention_duration',
    'keep_within',
    ...COUNT_RULES.map(([k]) => k),
  ]);
  for (const k of Object.keys(p)) {
    if (!known.has(k)) throw new InvalidArgumentError(`unknown retention setting ${k}`);
  }
  for (const [k] of COUNT_RULES) {
    if (p[k] !== undefined && !isCount(p[k]))
      throw new InvalidArgumentError(`${k} must be a whole number (-1 for unlimited)`);
  }
  if (p.max_backups !== undefined && (!Number.isInteger(p.max_backups) || p.max_backups < 1))
    throw new InvalidArgumentError('max_backups must be a whole number of at least 1');
  if (
    p.retention_duration !== undefined &&
    (typeof p.retention_duration !== 'number' || !(p.retention_duration > 0))
  )
    throw new InvalidArgumentError('retention_duration must be a positive number of days');
  if (p.keep_within !== undefined) parseWithin(p.keep_within);
  if (Object.keys(p).length === 0)
    throw new InvalidArgumentError('a retention policy needs at least one setting');
}

/**
 * The verdict on each candidate (the plan's `available` checkpoints), newest first. The
 * newest one is always kept: a retention run never leaves a plan without its latest copy.
 */
export function applyRetention(all: Candidate[], p: RetentionPolicy, nowMs: number): Verdict[] {
  checkPolicy(p);
  const list = [...all].sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? -1 : 1));
  const verdicts: Verdict[] = list.map((c) => ({ ...c, keep: false, reasons: [] }));
  const hasKeepRules = COUNT_RULES.some(([k]) => p[k] !== undefined) || p.keep_within !== undefined;
  if (!hasKeepRules) {
    for (const v of verdicts) {
      v.keep = true;
      v.reasons.push('kept: no keep rule');
    }
  } else {
    const remaining = new Map(COUNT_RULES.map(([k, name]) => [name, p[k] ?? 0]));
    const last = new Map<string, string>();
    const newest = list[0]?.createdAtMs ?? 0;
    const within = p.keep_within !== undefined ? parseWithin(p.keep_within) : undefined;
    verdicts.forEach((v, i) => {
      for (const [, name] of COUNT_RULES) {
        const left = remaining.get(name)!;
        if (left === 0) continue;
        const b = bucket(name, v, i);
        if (b === last.get(name)) continue;
        last.set(name, b);
        if (left > 0) remaining.set(name, left - 1);
        v.keep = true;
        v.reasons.push(name === 'last' ? 'kept: last' : `kept: ${name} ${b}`);
      }
      if (within !== undefined && v.createdAtMs > newest - within) {
        v.keep = true;
        v.reasons.push(`kept: within ${p.keep_within}`);
      }
      if (!v.keep) v.reasons.push('removed: no keep rule keeps it');
    });
  }
  // Karbor's limits, on top of the keep rules.
  let kept = 0;
  for (const v of verdicts) {
    if (!v.keep) continue;
    if (
      p.retention_duration !== undefined &&
      v.createdAtMs < nowMs - p.retention_duration * 86_400_000
    ) {
      v.keep = false;
      v.reasons = [`removed: older than retention_duration ${p.retention_duration}d`];
      continue;
    }
    kept++;
    if (p.max_backups !== undefined && kept > p.max_backups) {
      v.keep = false;
      v.reasons = [`removed: beyond max_backups ${p.max_backups}`];
    }
  }
  const first = verdicts[0];
  if (first && !first.keep) {
    first.keep = true;
    first.reasons = ['kept: the newest available checkpoint is never removed'];
  }
  return verdicts;
}
