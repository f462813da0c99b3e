// Asking for a backfill and cancelling one: the checks a request must pass before anything is stored.

import { backfillRange, isActive, MAX_BACKFILL_CONCURRENCY, type BackfillRecord } from '../domain/backfill.js';
import { DirectorError, invalidField } from '../domain/errors.js';
import { hasSlots } from '../domain/schedule.js';
import { parseDate } from '../domain/task.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/store.js';
import { taskNotFound } from '../tasks/task-writes.js';

export interface BackfillRequest {
  readonly from: unknown;
  readonly to: unknown;
  readonly concurrency?: unknown;
}

export interface BackfillRequestsDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly config: { readonly backfillMaxSlots: number };
  /** Told of a new or cancelled backfill, so this replica starts on it now rather than at its next poll. */
  readonly onChange: () => void;
}

export function backfillNotFound(id: number | string): DirectorError {
  return new DirectorError('BACKFILL_NOT_FOUND', `No backfill ${id}`);
}

const iso = (ms: number): string => new Date(ms).toISOString();

function parseConcurrency(value: unknown): number {
  if (value === undefined || value === null) return 1;
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_BACKFILL_CONCURRENCY) {
    throw invalidField('concurrency', `must be a whole number from 1 to ${MAX_BACKFILL_CONCURRENCY} (runs of this backfill at once)`);
  }
  return n;
}

export function createBackfillRequests(deps: BackfillRequestsDeps) {
  const { store, clock, config } = deps;

  /** Checks the request against the task's schedule and records the backfill; nothing is stored on a 4xx. */
  async function request(taskId: string, body: BackfillRequest, requestedBy: string): Promise<BackfillRecord> {
    const fromMs = parseDate(body.from, 'from');
    const toMs = parseDate(body.to, 'to');
    if (fromMs === null) throw invalidField('from', 'is required: the first instant of the range (ISO-8601 or epoch ms), included');
    if (toMs === null) throw invalidField('to', 'is required: the end of the range (ISO-8601 or epoch ms), excluded');
    const concurrency = parseConcurrency(body.concurrency);
    if (toMs <= fromMs) throw invalidField('to', `must be after from (${iso(fromMs)})`);
    const now = clock.now();
    if (toMs > now) throw invalidField('to', `${iso(toMs)} is in the future: a backfill covers past slots only (now is ${iso(now)}); future slots run on schedule`);
    const task = await store.getTask(taskId);
    if (task === undefined) throw taskNotFound(taskId);
    if (!hasSlots(task)) throw invalidField('id', `task "${taskId}" has neither interval nor cron: it has no slots to backfill`);
    const schedule = { initMs: task.initMs, endMs: task.endMs, intervalMs: task.intervalMs, cron: task.cron };
    const range = backfillRange(schedule, fromMs, toMs, config.backfillMaxSlots);
    if (!range.ok) {
      throw range.reason === 'no-slots'
        ? invalidField('from', `no slot of task "${taskId}" lies in [${iso(fromMs)}, ${iso(toMs)}) (its slots start at ${iso(task.initMs)}${task.endMs === null ? '' : ` and end before ${iso(task.endMs)}`})`)
        : invalidField('to', `the range holds more than ${config.backfillMaxSlots} slots (DIRECTOR_BACKFILL_MAX_SLOTS): split it into several backfills`);
    }
    const result = await store.createBackfill({
      taskId, fromMs, toMs, schedule, slots: range.slots, firstSlot: range.firstSlot, concurrency, requestedBy, nowMs: now,
    });
    if ('overlaps' in result) {
      const other = result.overlaps;
      throw new DirectorError(
        'BACKFILL_OVERLAPS',
        `backfill ${other.id} of task "${taskId}" (${iso(other.fromMs)} to ${iso(other.toMs)}) is still ${other.status} and overlaps this range: wait for it, cancel it, or ask for a range outside it`,
        { backfillId: other.id },
      );
    }
    deps.onChange();
    return result.created;
  }

  /** Stops a backfill: no slot of it starts any more; runs in flight finish (it is `cancelling` until then). */
  async function cancel(id: number, by: string): Promise<BackfillRecord> {
    const backfill = await store.getBackfill(id);
    if (backfill === undefined) throw backfillNotFound(id);
    if (!isActive(backfill.status)) throw new DirectorError('BACKFILL_ENDED', `backfill ${id} has already ${backfill.status === 'completed' ? 'completed' : 'been cancelled'}`);
    if (backfill.status === 'cancelling') return backfill;
    const ended = await store.endBackfill(id, { status: 'cancelled', reason: `cancelled by ${by}`, nowMs: clock.now() });
    deps.onChange();
    // Undefined: it ended between the read and the write (completed, or cancelled by someone else).
    return ended ?? (await store.getBackfill(id)) ?? backfill;
  }

  return { request, cancel };
}

export type BackfillRequests = ReturnType<typeof createBackfillRequests>;
