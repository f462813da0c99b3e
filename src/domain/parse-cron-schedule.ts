// A task's `cron` and `timezone`, validated with messages that name the field (400 INVALID_FIELD).

import { compileCron, type CronSpec } from './cron-schedule.js';
import { invalidField } from './errors.js';
import { isKnownTimeZone } from './wall-clock.js';

export const DEFAULT_TIMEZONE = 'UTC';
const MAX_EXPRESSION_LENGTH = 200;
const FIELDS = /^\S+(\s+\S+){4,5}$/;
// IANA names are letters, digits, "_", "-", "+" and "/" ("America/Port-au-Prince", "Etc/GMT+5"). A
// leading letter also keeps out offsets such as "+01:00", which only newer Node lines accept.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** A cron expression of five fields, or six with seconds first, that matches some date. */
export function parseCronExpression(value: unknown, field = 'cron'): string {
  if (typeof value !== 'string') throw invalidField(field, `must be a cron expression string such as "0 3 * * *", got ${JSON.stringify(value)}`);
  const expression = value.trim();
  if (expression.length > MAX_EXPRESSION_LENGTH) throw invalidField(field, `must be at most ${MAX_EXPRESSION_LENGTH} characters`);
  if (!FIELDS.test(expression)) {
    throw invalidField(field, `"${expression}" must have five fields (minute hour day-of-month month day-of-week) or six (seconds first), e.g. "0 3 * * *"`);
  }
  let next: Date | null;
  try {
    next = compileCron(expression).nextRun(new Date(0));
  } catch (error) {
    const reason = (error as Error).message.replace(/^Cron\w*: /, '');
    throw invalidField(field, `"${expression}" is not a valid cron expression: ${reason}`);
  }
  if (next === null) throw invalidField(field, `"${expression}" never matches a date`);
  return expression;
}

/** An IANA time zone name the runtime knows; absent means UTC. */
export function parseTimeZone(value: unknown, field = 'timezone'): string {
  if (isAbsent(value)) return DEFAULT_TIMEZONE;
  if (typeof value !== 'string') throw invalidField(field, `must be an IANA time zone name such as "Europe/Madrid", got ${JSON.stringify(value)}`);
  const zone = value.trim();
  if (!ZONE_NAME.test(zone) || !isKnownTimeZone(zone)) {
    throw invalidField(field, `"${zone}" is not a known IANA time zone name (e.g. "Europe/Madrid", "America/New_York", "UTC")`);
  }
  return zone;
}

/**
 * The task's cron schedule, or null when it has none. A task has `interval` or `cron`, never both;
 * `timezone` belongs to `cron` and is refused without it, since it would silently change nothing.
 */
export function parseCronSchedule(doc: Readonly<Record<string, unknown>>, intervalMs: number | null): CronSpec | null {
  if (isAbsent(doc.cron)) {
    if (!isAbsent(doc.timezone)) throw invalidField('timezone', 'applies to a cron schedule only: give `cron` as well, or leave `timezone` out');
    return null;
  }
  if (intervalMs !== null) throw invalidField('cron', 'a task has either `interval` or `cron`, not both: leave one of them out');
  return { expression: parseCronExpression(doc.cron), timezone: parseTimeZone(doc.timezone) };
}
