// Row ↔ domain mapping and column lists shared by the SQLite and PostgreSQL stores: both use the same columns.

import type { BackfillCounts, BackfillRecord, BackfillStatus } from '../domain/backfill.js';
import type { RunError, RunOutcome, RunRecord, RunStats, RunStatus, TriggerKind } from '../domain/run.js';
import { RUN_OUTCOMES } from '../domain/run.js';
import type { SlotSpec } from '../domain/schedule.js';
import { restoreTask, type Task } from '../domain/task.js';

/** The columns of a `runs` row, in RunRow's order: both dialects select exactly these. */
export const RUN_COLUMNS = `id, task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, finished_ms,
  duration_ms, lateness_ms, result, error, logs, script_url, script_sha256, lease_until_ms, queued_ms, backfill_id`;

/** The columns of a `tasks` row that TaskDbRow holds. */
export const TASK_COLUMNS = 'id, doc, running, init_ms, end_ms, interval_ms, cron, timezone, created_ms, updated_ms';

/** A `runs` row as either driver returns it (PostgreSQL's BIGINTs are parsed to numbers by the store). */
export interface RunRow {
  readonly id: number;
  readonly task_id: string;
  readonly slot_ms: number | null;
  readonly attempt: number;
  readonly trigger: string;
  readonly status: string;
  readonly owner: string;
  readonly created_ms: number;
  readonly started_ms: number | null;
  readonly finished_ms: number | null;
  readonly duration_ms: number | null;
  readonly lateness_ms: number | null;
  readonly result: string | null;
  readonly error: string | null;
  readonly logs: string | null;
  readonly script_url: string | null;
  readonly script_sha256: string | null;
  readonly lease_until_ms: number | null;
  readonly queued_ms: number | null;
  readonly backfill_id: number | null;
}

export interface TaskDbRow {
  readonly id: string;
  readonly doc: string;
  /** 0/1 in SQLite, boolean in PostgreSQL. */
  readonly running: number | boolean;
  readonly init_ms: number;
  readonly end_ms: number | null;
  readonly interval_ms: number | null;
  readonly cron: string | null;
  readonly timezone: string | null;
  readonly created_ms: number;
  readonly updated_ms: number;
}

export function taskFromRow(row: TaskDbRow): Task {
  return restoreTask({
    id: row.id,
    doc: row.doc,
    running: row.running === true || row.running === 1,
    initMs: row.init_ms,
    endMs: row.end_ms,
    intervalMs: row.interval_ms,
    cron: row.cron,
    timezone: row.timezone,
    createdMs: row.created_ms,
    updatedMs: row.updated_ms,
  });
}

export function runFromRow(row: RunRow): RunRecord {
  return {
    id: row.id,
    taskId: row.task_id,
    slot: row.slot_ms,
    attempt: row.attempt,
    // The CHECK constraints of both schemas keep these columns inside their unions.
    trigger: row.trigger as TriggerKind,
    backfillId: row.backfill_id,
    status: row.status as RunStatus,
    owner: row.owner,
    createdMs: row.created_ms,
    queuedMs: row.queued_ms,
    startedMs: row.started_ms,
    finishedMs: row.finished_ms,
    durationMs: row.duration_ms,
    latenessMs: row.lateness_ms,
    result: row.result,
    error: row.error === null ? null : (JSON.parse(row.error) as RunError),
    logs: row.logs,
    scriptUrl: row.script_url,
    scriptSha256: row.script_sha256,
    leaseUntilMs: row.lease_until_ms,
  };
}

/** The columns of a `backfills` row, in BackfillRow's order. */
export const BACKFILL_COLUMNS = `id, task_id, from_ms, to_ms, schedule, slots, concurrency, status, next_slot_ms, version,
  requested_by, reason, created_ms, finished_ms, counts`;

export interface BackfillRow {
  readonly id: number;
  readonly task_id: string;
  readonly from_ms: number;
  readonly to_ms: number;
  /** JSON text of the SlotSpec (backfillScheduleText). */
  readonly schedule: string;
  readonly slots: number;
  readonly concurrency: number;
  readonly status: string;
  readonly next_slot_ms: number | null;
  readonly version: number;
  readonly requested_by: string;
  readonly reason: string | null;
  readonly created_ms: number;
  readonly finished_ms: number | null;
  /** JSON text of BackfillCounts once it ended; null while active. */
  readonly counts: string | null;
}

/** The schedule snapshot as stored: every member of SlotSpec spelled out, `cron` null for interval tasks. */
export function backfillScheduleText(spec: SlotSpec): string {
  const cron = spec.cron == null ? null : { expression: spec.cron.expression, timezone: spec.cron.timezone };
  return JSON.stringify({ initMs: spec.initMs, endMs: spec.endMs, intervalMs: spec.intervalMs, cron });
}

export function backfillFromRow(row: BackfillRow): BackfillRecord {
  return {
    id: row.id,
    taskId: row.task_id,
    fromMs: row.from_ms,
    toMs: row.to_ms,
    schedule: JSON.parse(row.schedule) as SlotSpec,
    slots: row.slots,
    concurrency: row.concurrency,
    // The CHECK constraints of both schemas keep status inside BackfillStatus.
    status: row.status as BackfillStatus,
    nextSlot: row.next_slot_ms,
    version: row.version,
    requestedBy: row.requested_by,
    reason: row.reason,
    createdMs: row.created_ms,
    finishedMs: row.finished_ms,
    counts: row.counts === null ? null : (JSON.parse(row.counts) as BackfillCounts),
  };
}

/**
 * A backfill's counts from the number of its slots and how many slots have each status as their last
 * attempt's; `pending` is the rest (never claimed). Statuses without a slot count 0.
 */
export function backfillCountsFrom(slots: number, lastAttempts: readonly { readonly status: string; readonly n: number }[]): BackfillCounts {
  const counts: Record<RunStatus | 'pending', number> = { pending: 0, running: 0, succeeded: 0, failed: 0, timed_out: 0, skipped: 0, lost: 0 };
  let claimed = 0;
  for (const { status, n } of lastAttempts) {
    if (status === 'running' || (RUN_OUTCOMES as readonly string[]).includes(status)) counts[status as RunStatus] = n;
    claimed += n;
  }
  counts.pending = Math.max(0, slots - claimed);
  return counts;
}

/** Builds RunStats from per-status counts; statuses that have no row count 0. */
export function runStatsFrom(
  counts: readonly { readonly status: string; readonly n: number }[],
  lastRun: RunRow | undefined,
  consecutiveFailures: number,
): RunStats {
  const all: Record<RunOutcome | 'running', number> = { running: 0, succeeded: 0, failed: 0, timed_out: 0, skipped: 0, lost: 0 };
  for (const { status, n } of counts) {
    if (status === 'running' || (RUN_OUTCOMES as readonly string[]).includes(status)) all[status as RunStatus] = n;
  }
  return { counts: all, lastRun: lastRun === undefined ? null : runFromRow(lastRun), consecutiveFailures };
}

/** The error written on a run whose owner stopped renewing its lease. */
export function leaseExpiredError(nowMs: number): RunError {
  return {
    stage: 'executor',
    name: 'LeaseExpired',
    message: `the Director process that owned this run stopped renewing its lease (crashed or lost the database); declared lost at ${new Date(nowMs).toISOString()}`,
  };
}

/** Why a run of a replica whose database session ended (crashed, killed, cut off) was declared lost. */
export function sessionEndedError(nowMs: number): RunError {
  return {
    stage: 'executor',
    name: 'SessionEnded',
    message: `the Director process that owned this run lost its database session (crashed, killed or cut off); declared lost at ${new Date(nowMs).toISOString()}`,
  };
}

/** Limits for LIMIT/OFFSET: whole, non-negative; an absent limit means all rows. */
export function pageOf(query: { readonly limit?: number; readonly offset?: number } | undefined): { limit: number | null; offset: number } {
  const whole = (n: number | undefined): number | null => (n === undefined || !Number.isFinite(n) ? null : Math.max(0, Math.trunc(n)));
  return { limit: whole(query?.limit), offset: whole(query?.offset) ?? 0 };
}
