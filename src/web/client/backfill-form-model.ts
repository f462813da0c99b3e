// The backfill dialog's fields ⇄ the body of POST /tasks/{id}/backfills. Dates are typed in UTC
// (datetime-local inputs carry no zone) and sent with an explicit Z; every other check is the API's,
// so the dialog shows the API's own messages on the field they name.

import { isDirectorError } from '../../domain/errors.js';
import { parseDate } from '../../domain/task.js';
import type { FieldError } from './task-form-model.js';

export interface BackfillFields {
  /** datetime-local values, read as UTC: "2025-03-01T14:00" (seconds when not zero). */
  from: string;
  to: string;
  concurrency: string;
}

export interface BackfillBody {
  readonly from?: string;
  readonly to?: string;
  readonly concurrency?: string;
}

const HOUR = 3_600_000;
const pad = (n: number) => String(n).padStart(2, '0');

/** An instant as a datetime-local value in UTC: 2025-03-01T14:00, or 2025-03-01T14:00:05. */
export function utcInputValue(ms: number): string {
  const d = new Date(ms);
  const seconds = d.getUTCSeconds() === 0 ? '' : `:${pad(d.getUTCSeconds())}`;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds}`;
}

/** The instant a datetime-local value means in UTC; null when empty or not a date. */
export function instantOf(value: string): number | null {
  try {
    return parseDate(value, 'date');
  } catch {
    return null;
  }
}

/** The last whole hour before now: a range that is surely past, for the user to widen or move. */
export function defaultBackfillFields(now: number): BackfillFields {
  const to = Math.floor(now / HOUR) * HOUR;
  return { from: utcInputValue(to - HOUR), to: utcInputValue(to), concurrency: '1' };
}

/**
 * The request body: dates as ISO-8601 in UTC; an empty field is left out, so the API says what it
 * needs ("from: is required…"); concurrency goes as typed and the API checks it.
 */
export function backfillBody(fields: BackfillFields): { body?: BackfillBody; error?: FieldError } {
  const body: { from?: string; to?: string; concurrency?: string } = {};
  for (const name of ['from', 'to'] as const) {
    const value = fields[name].trim();
    if (value === '') continue;
    try {
      const ms = parseDate(value, name);
      if (ms !== null) body[name] = new Date(ms).toISOString();
    } catch (e) {
      return { error: { field: name, message: isDirectorError(e) ? e.message : `${name}: ${(e as Error).message}` } };
    }
  }
  const concurrency = fields.concurrency.trim();
  if (concurrency !== '') body.concurrency = concurrency;
  return { body };
}

/** The field an API error names, when the dialog has it; else the error is the dialog's as a whole. */
export function dialogField(field: string | undefined): keyof BackfillFields | '' {
  return field === 'from' || field === 'to' || field === 'concurrency' ? field : '';
}
