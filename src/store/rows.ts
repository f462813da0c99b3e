// Row ↔ domain mapping and column lists shared by the SQLite and PostgreSQL stores: both use the same columns.

import type { RunError, RunOutcome, RunRecord, RunStats, RunStatus, TriggerKind } from '../domain/run.js';
import { RUN_OUTCOMES } from '../domain/run.js';
import { restoreTask, type Task } from '../domain/task.js';

/** The columns of a `runs` row, in RunRow's order: both dialects select exactly these. */
export const RUN_COLUMNS = `id, task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, finished_ms,
  duration_ms, lateness_ms, result, error, logs, script_url, script_sha256, lease_until_ms, queued_ms`;

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
