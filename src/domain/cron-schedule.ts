// Slots of a cron task: the instants of its cron expression in its time zone. Pure: no clock, no I/O.
//
// The DST rule (README "Cron schedules"): a local time that does not exist (spring forward) is
// skipped, and a local time that occurs twice (fall back) runs once, at its first occurrence — for
// every expression, `30 2 * * *` and `*/5 * * * *` alike.
//
// croner alone follows Vixie cron instead: it moves a fixed-time job out of a gap to the first valid
// time after it, and runs a job with a wildcard or step in its time fields on both passes through a
// repeated hour (cron-schedule.test.ts shows both). So croner is used only to enumerate the wall-clock
// times that match (as UTC, where no time is missing or repeated), and this module maps each one to
// the instant the rule gives: none in a gap, the earliest in a repeated hour. That mapping only moves
// forward in time, so slots stay strictly increasing.

import { Cron } from 'croner';
import { instantsOfWallClock, offsetAt, wallClock } from './wall-clock.js';

export interface CronSpec {
  /** Five fields (minute hour day-of-month month day-of-week), or six with seconds first. */
  readonly expression: string;
  /** IANA time zone name, "UTC" when the task gives none. */
  readonly timezone: string;
}

const DAY_MS = 86_400_000;
/** Parsing an expression costs ~40 µs, a step through it ~5 µs: each expression is parsed once. */
const MAX_PATTERNS = 10_000;
const patterns = new Map<string, Cron>();

/** croner's matcher of `expression` over wall-clock times written as UTC. Throws on a bad expression. */
export function compileCron(expression: string): Cron {
  let pattern = patterns.get(expression);
  if (pattern === undefined) {
    // utcOffset 0, not timezone 'UTC': a fixed offset steps through fields without any zone lookup.
    pattern = new Cron(expression, { mode: '5-or-6-parts', utcOffset: 0, paused: true });
    if (patterns.size >= MAX_PATTERNS) patterns.clear();
    patterns.set(expression, pattern);
  }
  return pattern;
}

/** The instant a matching wall-clock time runs at under the DST rule: the first, or none in a gap. */
function runInstant(wallMs: number, zone: string): number | undefined {
  return instantsOfWallClock(wallMs, zone)[0];
}

/** The first slot of `cron` strictly after `afterMs`, or undefined when the expression never matches again. */
export function nextCronSlot(cron: CronSpec, afterMs: number): number | undefined {
  const pattern = compileCron(cron.expression);
  // Wall-clock times up to the one of `afterMs` run at or before it (their first occurrence), so the
  // search starts after it. Inside the second pass of a repeated hour, the matches of that hour ran on
  // the first pass: they are stepped over until the hour is behind.
  let wall = wallClock(afterMs, cron.timezone);
  for (;;) {
    const next = pattern.nextRun(new Date(wall));
    if (next === null) return undefined;
    wall = next.getTime();
    const at = runInstant(wall, cron.timezone);
    if (at !== undefined && at > afterMs) return at;
  }
}

/** The latest slot of `cron` at or before `atMs`, or undefined when it never matched. */
export function cronSlotAtOrBefore(cron: CronSpec, atMs: number): number | undefined {
  const pattern = compileCron(cron.expression);
  // The latest wall-clock time a slot at or before `atMs` can have: after a fall back it is ahead of
  // the wall clock of `atMs` (01:45 of the first pass ran before 01:30 of the second).
  const offset = Math.max(offsetAt(atMs, cron.timezone), offsetAt(atMs - DAY_MS, cron.timezone));
  let before = atMs + offset + 1;
  for (;;) {
    const previous = pattern.previousRuns(1, new Date(before))[0];
    if (previous === undefined) return undefined;
    before = previous.getTime();
    const at = runInstant(before, cron.timezone);
    if (at !== undefined && at <= atMs) return at;
  }
}
