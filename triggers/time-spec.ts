// Karbor's time triggers (`crontab` or `calendar`: an iCalendar RRULE) as one schedule
// spec: calendars (sets of allowed seconds, minutes, hours, days, months, weekdays) and
// fixed intervals, in a time zone. Temporal Schedules run it; `nextTimes` computes the same
// times here, so `trigger show` can list them and tests can check both formats agree.
import { InvalidArgumentError } from '../common/errors';

export interface Calendar {
  second: number[];
  minute: number[];
  hour: number[];
  /** 1–31, or every day. */
  dayOfMonth: number[] | '*';
  /** 1–12. */
  month: number[] | '*';
  /** 0 = Sunday … 6. */
  dayOfWeek: number[] | '*';
}

export interface Interval {
  everyMs: number;
  offsetMs: number;
}

export interface TimeSpec {
  calendars: Calendar[];
  intervals: Interval[];
  timezone: string;
  startMs?: number;
  endMs?: number;
}

const bad = (why: string) => new InvalidArgumentError(why);
const range = (a: number, b: number, step = 1) => {
  const out: number[] = [];
  for (let v = a; v <= b; v += step) out.push(v);
  return out;
};

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** One crontab field: `*`, `a`, `a-b`, lists, steps (`*\/5`, `a-b/n`, `a/n`), names. */
function cronField(text: string, min: number, max: number, what: string, names: string[] = []) {
  const value = (v: string) => {
    const named = names.indexOf(v.toUpperCase());
    const n = named >= 0 ? named + min : Number(v);
    if (
      !/^\w+$/.test(v) ||
      !Number.isInteger(n) ||
      n < min ||
      n > max + (what === 'day of week' ? 1 : 0)
    )
      throw bad(`crontab ${what} ${JSON.stringify(v)} is not ${min}–${max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [span = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw bad(`crontab ${what} step in ${JSON.stringify(part)}`);
    let from: number;
    let to: number;
    if (span === '*') [from, to] = [min, max];
    else if (span.includes('-')) {
      const [a = '', b = ''] = span.split('-');
      [from, to] = [value(a), value(b)];
      if (from > to) throw bad(`crontab ${what} range ${JSON.stringify(span)} runs backwards`);
    } else {
      from = value(span);
      to = stepText === undefined ? from : max;
    }
    for (const v of range(from, to, step)) out.add(what === 'day of week' && v === 7 ? 0 : v);
  }
  return [...out].sort((a, b) => a - b);
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * A crontab: `minute hour day-of-month month day-of-week`, optionally with a leading
 * seconds field; names and the usual `@daily`-style macros. As in cron, when both the
 * day of month and the day of week are restricted, a day matching either one counts.
 */
export function parseCrontab(pattern: string): Calendar[] {
  const text = MACROS[pattern.trim().toLowerCase()] ?? pattern.trim();
  const f = text.split(/\s+/);
  if (f.length !== 5 && f.length !== 6)
    throw bad(`crontab ${JSON.stringify(pattern)} needs 5 fields (or 6 with seconds first)`);
  const [sec, min, hour, dom, mon, dow] = f.length === 6 ? f : ['0', ...f];
  const base = {
    second: cronField(sec!, 0, 59, 'second'),
    minute: cronField(min!, 0, 59, 'minute'),
    hour: cronField(hour!, 0, 23, 'hour'),
    month: mon === '*' ? ('*' as const) : cronField(mon!, 1, 12, 'month', MONTHS),
  };
  const days = dom === '*' || dom === '?' ? ('*' as const) : cronField(dom!, 1, 31, 'day of month');
  const weekdays =
    dow === '*' || dow === '?' ? ('*' as const) : cronField(dow!, 0, 6, 'day of week', DAYS);
  if (days !== '*' && weekdays !== '*') {
    return [
      { ...base, dayOfMonth: days, dayOfWeek: '*' },
      { ...base, dayOfMonth: '*', dayOfWeek: weekdays },
    ];
  }
  return [{ ...base, dayOfMonth: days, dayOfWeek: weekdays }];
}

const FREQS = ['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
const UNIT_MS: Partial<Record<(typeof FREQS)[number], number>> = {
  SECONDLY: 1000,
  MINUTELY: 60_000,
  HOURLY: 3_600_000,
  DAILY: 86_400_000,
  WEEKLY: 7 * 86_400_000,
};
const ICAL_DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

/** `20260101T020000Z` (UTC) or `20260101T020000` (in the trigger's zone: taken as UTC here). */
function icalTime(text: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)(?:T(\d\d)(\d\d)(\d\d)Z?)?$/.exec(text);
  if (!m) throw bad(`calendar time ${JSON.stringify(text)} is not like 20260101T020000Z`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0));
  return Date.UTC(y!, mo! - 1, d, h, mi, s);
}

/**
 * A calendar trigger: an iCalendar RRULE (alone, or inside `BEGIN:VCALENDAR … END:VCALENDAR`
 * text as Karbor writes it, with an optional DTSTART). FREQ SECONDLY to YEARLY; INTERVAL;
 * BYSECOND, BYMINUTE, BYHOUR, BYDAY (weekdays without ordinals), BYMONTHDAY, BYMONTH;
 * UNTIL. Fields finer than FREQ come from DTSTART (or `startMs`), as RFC 5545 says.
 */
export function parseRrule(
  pattern: string,
  startMs = 0,
): { calendars: Calendar[]; intervals: Interval[]; endMs?: number } {
  const lines = pattern.split(/\r?\n/).map((l) => l.trim());
  const ruleLine =
    lines.find((l) => l.toUpperCase().startsWith('RRULE:')) ?? lines.find((l) => /FREQ=/i.test(l));
  if (!ruleLine) throw bad('calendar pattern has no RRULE');
  const dt = lines.find((l) => l.toUpperCase().startsWith('DTSTART'));
  const start = dt ? icalTime(dt.slice(dt.indexOf(':') + 1)) : startMs;
  const parts = new Map<string, string>();
  for (const kv of ruleLine
    .replace(/^RRULE:/i, '')
    .split(';')
    .filter(Boolean)) {
    const [k = '', v = ''] = kv.split('=');
    parts.set(k.toUpperCase(), v.toUpperCase());
  }
  const freq = parts.get('FREQ') as (typeof FREQS)[number] | undefined;
  if (!freq || !FREQS.includes(freq)) throw bad(`RRULE FREQ must be one of ${FREQS.join(', ')}`);
  for (const k of parts.keys()) {
    if (
      ![
        'FREQ',
        'INTERVAL',
        'BYSECOND',
        'BYMINUTE',
        'BYHOUR',
        'BYDAY',
        'BYMONTHDAY',
        'BYMONTH',
        'UNTIL',
        'WKST',
      ].includes(k)
    )
      throw bad(`RRULE ${k} is not supported`);
  }
  const interval = Number(parts.get('INTERVAL') ?? '1');
  if (!Number.isInteger(interval) || interval < 1)
    throw bad('RRULE INTERVAL must be a whole number ≥ 1');
  const list = (key: string, min: number, max: number) => {
    const v = parts.get(key);
    if (v === undefined) return undefined;
    return v.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < min || n > max)
        throw bad(`RRULE ${key} value ${x} is not ${min}–${max}`);
      return n;
    });
  };
  const d = new Date(start);
  const level = FREQS.indexOf(freq);
  // A field finer than FREQ without a BY rule takes DTSTART's value; coarser ones are free.
  const field = (key: string, min: number, max: number, own: number, lvl: number) =>
    list(key, min, max) ?? (level > lvl ? [own] : range(min, max));
  const byDay = parts
    .get('BYDAY')
    ?.split(',')
    .map((x) => {
      const i = ICAL_DAYS.indexOf(x);
      if (i < 0) throw bad(`RRULE BYDAY ${x} is not supported (weekdays MO … SU, no ordinals)`);
      return i;
    });
  const byMonthDay = list('BYMONTHDAY', 1, 31);
  let cal: Calendar = {
    second: field('BYSECOND', 0, 59, d.getUTCSeconds(), 0),
    minute: field('BYMINUTE', 0, 59, d.getUTCMinutes(), 1),
    hour: field('BYHOUR', 0, 23, d.getUTCHours(), 2),
    dayOfWeek: byDay ?? (freq === 'WEEKLY' ? [d.getUTCDay()] : '*'),
    dayOfMonth:
      byMonthDay ?? ((freq === 'MONTHLY' || freq === 'YEARLY') && !byDay ? [d.getUTCDate()] : '*'),
    month: list('BYMONTH', 1, 12) ?? (freq === 'YEARLY' ? [d.getUTCMonth() + 1] : '*'),
  };
  const until = parts.get('UNTIL');
  const endMs = until ? icalTime(until) : undefined;
  const out = (c: Calendar[], i: Interval[]) => ({
    calendars: c,
    intervals: i,
    ...(endMs !== undefined ? { endMs } : {}),
  });
  if (interval === 1) return out([cal], []);
  const cycle: Partial<Record<(typeof FREQS)[number], [keyof Calendar, number, number]>> = {
    SECONDLY: ['second', 60, d.getUTCSeconds()],
    MINUTELY: ['minute', 60, d.getUTCMinutes()],
    HOURLY: ['hour', 24, d.getUTCHours()],
  };
  const c = cycle[freq];
  const byRules = [...parts.keys()].some((k) => k.startsWith('BY'));
  if (c && c[1] % interval === 0 && !parts.has(`BY${String(c[0]).toUpperCase()}`)) {
    cal = { ...cal, [c[0]]: range(c[2] % interval, c[1] - 1, interval) };
    return out([cal], []);
  }
  const unit = UNIT_MS[freq];
  if (unit && !byRules) {
    const every = unit * interval;
    return out([], [{ everyMs: every, offsetMs: ((start % every) + every) % every }]);
  }
  throw bad(
    `RRULE FREQ=${freq};INTERVAL=${interval} with BY rules is not supported; use a crontab`,
  );
}

/** The zone's offset from UTC at `ms` (local − UTC, in ms). */
function zoneOffset(ms: number, timezone: string): number {
  if (timezone === 'UTC') return 0;
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return local - Math.floor(ms / 1000) * 1000;
}

export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw bad(`unknown time zone ${JSON.stringify(timezone)}`);
  }
}

/** Wall-clock time in `timezone` → UTC ms. */
function zonedToUtc(local: number, timezone: string): number {
  let t = local - zoneOffset(local, timezone);
  t = local - zoneOffset(t, timezone);
  return t;
}

function* calendarTimes(c: Calendar, fromMs: number, timezone: string): Generator<number> {
  const startLocal = fromMs + zoneOffset(fromMs, timezone);
  const day0 = Math.floor(startLocal / 86_400_000);
  // Eight years: enough for a leap day, bounded for a spec that matches nothing.
  for (let day = day0; day < day0 + 366 * 8; day++) {
    const d = new Date(day * 86_400_000);
    if (c.month !== '*' && !c.month.includes(d.getUTCMonth() + 1)) continue;
    if (c.dayOfMonth !== '*' && !c.dayOfMonth.includes(d.getUTCDate())) continue;
    if (c.dayOfWeek !== '*' && !c.dayOfWeek.includes(d.getUTCDay())) continue;
    for (const h of c.hour)
      for (const m of c.minute)
        for (const s of c.second) {
          const t = zonedToUtc(day * 86_400_000 + ((h * 60 + m) * 60 + s) * 1000, timezone);
          if (t > fromMs) yield t;
        }
  }
}

/** The next `n` times after `fromMs` the spec fires (ms, ascending). */
export function nextTimes(spec: TimeSpec, fromMs: number, n: number): number[] {
  const from = Math.max(fromMs, (spec.startMs ?? -Infinity) - 1);
  const found = new Set<number>();
  for (const c of spec.calendars) {
    let k = 0;
    for (const t of calendarTimes(c, from, spec.timezone)) {
      found.add(t);
      if (++k >= n) break;
    }
  }
  for (const i of spec.intervals) {
    // Epoch + k × every + offset, the first one after `from`.
    let t = (Math.floor((from - i.offsetMs) / i.everyMs) + 1) * i.everyMs + i.offsetMs;
    for (let k = 0; k < n; k++, t += i.everyMs) found.add(t);
  }
  return [...found]
    .sort((a, b) => a - b)
    .filter((t) => spec.endMs === undefined || t <= spec.endMs)
    .slice(0, n);
}

/** A Karbor time trigger's properties (DESIGN: trigger `properties`). */
export interface TriggerProperties {
  format: 'crontab' | 'calendar';
  pattern: string;
  /** ISO 8601; no run before it. */
  start_time?: string;
  /** ISO 8601; no run after it. */
  end_time?: string;
  /** Seconds a missed run may still start late (the Schedule's catch-up window). */
  window?: number;
  /** IANA zone the pattern's wall-clock times are in (default UTC). */
  timezone?: string;
}

function isoTime(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (typeof text !== 'string' || Number.isNaN(ms))
    throw bad(`${what} ${JSON.stringify(text)} is not an ISO 8601 time`);
  return ms;
}

/** Checks a trigger's properties and turns them into the schedule spec they describe. */
export function timeSpecOf(p: TriggerProperties): TimeSpec {
  if (typeof p !== 'object' || p === null) throw bad('trigger properties must be an object');
  if (typeof p.pattern !== 'string' || p.pattern.trim() === '' || p.pattern.length > 4096)
    throw bad('trigger pattern must be a non-empty string of at most 4096 characters');
  const timezone = p.timezone ?? 'UTC';
  checkTimezone(timezone);
  const startMs = isoTime(p.start_time, 'start_time');
  let endMs = isoTime(p.end_time, 'end_time');
  if (startMs !== undefined && endMs !== undefined && endMs <= startMs)
    throw bad('end_time must be after start_time');
  if (
    p.window !== undefined &&
    (!Number.isInteger(p.window) || p.window < 1 || p.window > 365 * 86400)
  )
    throw bad('window must be a whole number of seconds (1 s to a year)');
  let calendars: Calendar[];
  let intervals: Interval[] = [];
  if (p.format === 'crontab') {
    calendars = parseCrontab(p.pattern);
  } else if (p.format === 'calendar') {
    const r = parseRrule(p.pattern, startMs ?? 0);
    calendars = r.calendars;
    intervals = r.intervals;
    if (r.endMs !== undefined) endMs = endMs === undefined ? r.endMs : Math.min(endMs, r.endMs);
  } else {
    throw bad('trigger format must be crontab or calendar');
  }
  return {
    calendars,
    intervals,
    timezone,
    ...(startMs !== undefined ? { startMs } : {}),
    ...(endMs !== undefined ? { endMs } : {}),
  };
}
