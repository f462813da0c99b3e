// The only storage seam. Named after domain operations; SQLite (embedded) and PostgreSQL (cluster)
// implement it, and store.contract.ts holds the conformance cases both must pass.
//
// Every time-dependent operation takes `nowMs` explicitly, so tests can fix time and so a cluster can
// pass the database's own notion of time where it matters.

import type { RunError, RunOutcome, RunRecord, RunReport, RunStats, TriggerKind } from '../domain/run.js';
import type { Task } from '../domain/task.js';

export interface ListTasksQuery {
  /** Equality filters on top-level string fields of the task document (`?field=value`). */
  readonly filter?: Readonly<Record<string, string>>;
  readonly limit?: number;
  readonly offset?: number;
}

export interface ClaimRequest {
  readonly taskId: string;
  readonly slot: number;
  readonly owner: string;
  readonly nowMs: number;
  /** How long the claim's lease holds before another replica may declare the run lost. */
  readonly leaseMs: number;
}

export interface NewRun {
  readonly taskId: string;
  readonly slot: number | null;
  readonly attempt: number;
  readonly trigger: TriggerKind;
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseMs: number;
  /** A run recorded as already finished without running (`skipped`), with why. */
  readonly skipped?: { readonly reason: string };
}

export interface ListRunsQuery {
  readonly limit?: number;
  readonly offset?: number;
}

export type PutTaskResult = 'created' | 'replaced';

export interface Store {
  /** Which implementation this is, for logs and /ready. */
  readonly kind: 'sqlite' | 'postgres';

  /** Insert or fully replace a task. Durable when the promise resolves. */
  putTask(task: Task): Promise<PutTaskResult>;
  getTask(id: string): Promise<Task | undefined>;
  listTasks(query?: ListTasksQuery): Promise<Task[]>;
  countTasks(): Promise<{ total: number; running: number }>;
  /** True when a task was deleted. Its runs stay. */
  deleteTask(id: string): Promise<boolean>;
  /**
   * Deletes a running task whose `end` has passed, as a claim: true only for the one caller that
   * deleted it, so end-of-life happens once across replicas.
   */
  deleteEndedTask(id: string, nowMs: number): Promise<boolean>;

  /**
   * Claims slots: inserts attempt 1 of each (task, slot) as a running run owned by `owner`.
   * Returns the runs this call won; a slot already claimed by anyone is left out.
   */
  claimSlots(claims: readonly ClaimRequest[]): Promise<RunRecord[]>;
  /** Inserts a run (manual run, retry attempt, skipped slot). Undefined when (task, slot, attempt) exists. */
  insertRun(run: NewRun): Promise<RunRecord | undefined>;
  /** Writes how a running run ended. Undefined when the run is unknown or no longer running. */
  finishRun(runId: number, report: RunReport): Promise<RunRecord | undefined>;
  /**
   * Ends a running run without a report: lost (owner died), failed (killed at shutdown), or skipped
   * (claimed but never started: its task was stopped, deleted or rescheduled meanwhile; `error.message`
   * says why).
   */
  abandonRun(runId: number, outcome: Extract<RunOutcome, 'lost' | 'failed' | 'skipped'>, error: RunError, nowMs: number): Promise<RunRecord | undefined>;
  /** Extends the lease of every running run of `owner`; returns how many were renewed. */
  renewLeases(owner: string, untilMs: number): Promise<number>;
  /** Marks running runs whose lease expired before `nowMs` as lost and returns them. */
  expireLeases(nowMs: number): Promise<RunRecord[]>;

  /** The latest slot that has a run row (any outcome), per task: where catch-up after downtime starts. */
  latestSlots(): Promise<Map<string, number>>;
  /** Runs of a task that are still running (any owner). */
  runningRuns(taskId: string): Promise<RunRecord[]>;
  /** Retention: keeps the newest `keepPerTask` finished runs of each task (0 = all) and drops finished runs older than `olderThanMs` (null = none). Returns how many were removed. */
  trimRuns(options: { readonly keepPerTask: number; readonly olderThanMs: number | null }): Promise<number>;

  getRun(id: number): Promise<RunRecord | undefined>;
  /** A task's runs, newest first. */
  listRuns(taskId: string, query?: ListRunsQuery): Promise<RunRecord[]>;
  runStats(taskId: string): Promise<RunStats>;

  close(): Promise<void>;
}
