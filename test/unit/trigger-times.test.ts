import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextTimes, timeSpecOf } from '../../triggers/time-spec';
import type { TriggerProperties } from '../../triggers/time-spec';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const next = (p: TriggerProperties, from: string, n: number) =>
  nextTimes(timeSpecOf(p), Date.parse(from), n).map(iso);

// Each row: a crontab and a calendar (RRULE) trigger meant to be the same, and the times
// both must give after `from`, written out by hand.
const TABLE: { name: string; crontab: string; calendar: string; from: string; times: string[] }[] =
  [
    {
      name: 'every 5 seconds',
      crontab: '*/5 * * * * *',
      calendar: 'RRULE:FREQ=SECONDLY;INTERVAL=5',
      from: '2026-11-26T10:00:58Z',
      times: ['2026-11-26T10:01:00Z', '2026-11-26T10:01:05Z', '2026-11-26T10:01:10Z'],
    },
    {
      name: 'quarter hours in office hours on weekdays',
      crontab: '*/15 9-17 * * MON-FRI',
      calendar:
        'RRULE:FREQ=MINUTELY;INTERVAL=15;BYHOUR=9,10,11,12,13,14,15,16,17;BYDAY=MO,TU,WE,TH,FR',
      from: '2026-11-27T17:40:00Z', // a Friday
      times: ['2026-11-27T17:45:00Z', '2026-11-30T09:00:00Z', '2026-11-30T09:15:00Z'],
    },
    {
      name: 'Sundays at 02:00',
      crontab: '0 2 * * 0',
      calendar:
        'BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260104T020000Z\nRRULE:FREQ=WEEKLY\nEND:VEVENT\nEND:VCALENDAR',
      from: '2026-11-26T00:00:00Z',
      times: ['2026-11-29T02:00:00Z', '2026-12-06T02:00:00Z', '2026-12-13T02:00:00Z'],
    },
    {
      name: 'the 1st and 15th of the month at 03:30',
      crontab: '30 3 1,15 * *',
      calendar: 'RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15;BYHOUR=3;BYMINUTE=30;BYSECOND=0',
      from: '2026-11-26T00:00:00Z',
      times: ['2026-12-01T03:30:00Z', '2026-12-15T03:30:00Z', '2027-01-01T03:30:00Z'],
    },
    {
      name: 'yearly on 29 February (leap years only)',
      crontab: '0 0 29 FEB *',
      calendar: 'DTSTART:20240229T000000Z\nRRULE:FREQ=YEARLY',
      from: '2026-11-26T00:00:00Z',
      times: ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z'],
    },
  ];

describe('crontab and calendar triggers give the same times', () => {
  for (const row of TABLE) {
    it(row.name, () => {
      const n = row.times.length;
      assert.deepEqual(next({ format: 'crontab', pattern: row.crontab }, row.from, n), row.times);
      assert.deepEqual(next({ format: 'calendar', pattern: row.calendar }, row.from, n), row.times);
    });
  }

  it('a crontab restricting both day of month and weekday fires on either (cron’s rule)', () => {
    assert.deepEqual(
      next({ format: 'crontab', pattern: '0 0 13 * FRI' }, '2026-11-01T00:00:00Z', 4),
      [
        '2026-11-06T00:00:00Z',
        '2026-11-13T00:00:00Z',
        '2026-11-20T00:00:00Z',
        '2026-11-27T00:00:00Z',
      ],
    );
  });

  it('an interval the cycle does not divide runs from DTSTART every INTERVAL units', () => {
    assert.deepEqual(
      next(
        { format: 'calendar', pattern: 'DTSTART:20261126T100000Z\nRRULE:FREQ=SECONDLY;INTERVAL=7' },
        '2026-11-26T10:00:59Z',
        2,
      ),
      ['2026-11-26T10:01:03Z', '2026-11-26T10:01:10Z'],
    );
  });

  it('keeps wall-clock times in the trigger’s zone across daylight saving', () => {
    const p: TriggerProperties = {
      format: 'crontab',
      pattern: '0 2 * * *',
      timezone: 'Europe/Berlin',
    };
    assert.deepEqual(next(p, '2026-10-20T12:00:00Z', 1), ['2026-10-21T00:00:00Z'], 'summer time');
    assert.deepEqual(next(p, '2026-10-27T12:00:00Z', 1), ['2026-10-28T01:00:00Z'], 'winter time');
  });

  it('honours start_time, end_time and UNTIL', () => {
    const p: TriggerProperties = {
      format: 'crontab',
      pattern: '0 * * * *',
      start_time: '2026-11-26T05:30:00Z',
      end_time: '2026-11-26T07:00:00Z',
    };
    assert.deepEqual(next(p, '2026-11-26T00:00:00Z', 5), [
      '2026-11-26T06:00:00Z',
      '2026-11-26T07:00:00Z',
    ]);
    assert.deepEqual(
      next(
        { format: 'calendar', pattern: 'RRULE:FREQ=DAILY;UNTIL=20261128T000000Z' },
        '2026-11-26T00:00:00Z',
        5,
      ),
      ['2026-11-27T00:00:00Z', '2026-11-28T00:00:00Z'],
    );
  });

  it('refuses what it cannot run, naming the problem', () => {
    for (const [p, re] of [
      [{ format: 'crontab', pattern: '61 * * * *' }, /minute "61"/],
      [{ format: 'crontab', pattern: '* * *' }, /needs 5 fields/],
      [{ format: 'crontab', pattern: '0 0 * * 5-1' }, /runs backwards/],
      [{ format: 'calendar', pattern: 'RRULE:FREQ=FORTNIGHTLY' }, /FREQ must be/],
      [{ format: 'calendar', pattern: 'RRULE:FREQ=MONTHLY;BYDAY=1MO' }, /no ordinals/],
      [{ format: 'calendar', pattern: 'RRULE:FREQ=DAILY;COUNT=3' }, /COUNT is not supported/],
      [{ format: 'crontab', pattern: '0 * * * *', timezone: 'Mars/Olympus' }, /unknown time zone/],
      [{ format: 'cron', pattern: '0 * * * *' }, /crontab or calendar/],
    ] as [TriggerProperties, RegExp][]) {
      assert.throws(
        () => timeSpecOf(p),
        (err: Error & { code?: string }) => re.test(err.message) && err.code === 'INVALID_ARGUMENT',
      );
    }
  });
});
