// The only storage seam. Named after domain operations; SQLite (embedded) and PostgreSQL (cluster)
// implement `Store`, and store.contract.ts holds the conformance cases both must pass. What only a
// shared database can do (change notifications, live replicas, a replica session) is `ClusterStore`.
// Every member is required: callers never branch on what a store happens to offer.
//
// Every time-dependent operation takes `nowMs` explicitly, so tests can fix time and so a cluster can
// pass the database's own notion of time where it matters.

import type { BackfillCounts, BackfillRecord, BackfillStatus } from '../domain/backfill.js';
import type { RunError, RunOutcome, RunRecord, RunReport, RunStats, TriggerKind } from '../domain/run.js';
import type { SlotSpec } from '../domain/schedule.js';
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

export interface NewBackfill {
  readonly taskId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly schedule: SlotSpec;
  readonly slots: number;
  readonly firstSlot: number;
  readonly concurrency: number;
  readonly requestedBy: string;
  readonly nowMs: number;
}

export type CreateBackfillResult =
  | { readonly created: BackfillRecord }
  /** An active backfill of the same task whose range meets [from, to): its slots would run twice. */
  | { readonly overlaps: BackfillRecord };

export interface ListBackfillsQuery {
  readonly taskId?: string;
  readonly status?: BackfillStatus;
  readonly limit?: number;
  readonly offset?: number;
}

/** What the backfill driver needs to decide its next step, read in one snapshot. */
export interface BackfillProgress {
  readonly backfill: BackfillRecord;
  /**
   * Its runs still running (any replica's). A cluster store leaves out those whose owner's session
   * ended, as runningRuns does: they hold no place any more, though endBackfill waits for the sweep
   * that declares them lost (they may need a re-run).
   */
  readonly running: number;
  /**
   * Slots whose last attempt was lost or killed at shutdown and has fewer than `maxAttempts` attempts:
   * each with the attempt to make next, in slot order.
   */
  readonly reruns: readonly { readonly slot: number; readonly attempt: number }[];
  /** Slots by the status of their last attempt, and `pending` (never claimed). */
  readonly counts: BackfillCounts;
}

export interface BackfillClaim {
  readonly backfillId: number;
  readonly taskId: string;
  /** The version the caller read: the claim is made only while the backfill still has it. */
  readonly version: number;
  /** The backfill's next unclaimed slot after this claim (null: all claimed). */
  readonly nextSlot: number | null;
  /** Attempt 1 of new slots, and re-runs (attempt > 1). */
  readonly runs: readonly { readonly slot: number; readonly attempt: number }[];
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseMs: number;
}

export type BackfillEnd =
  /** Only at `version` (nothing claimed since the caller saw all done) and with no run of it running. */
  | { readonly status: 'completed'; readonly version: number; readonly nowMs: number }
  /** Stops claiming: `cancelling`, or `cancelled` at once when none of its runs is running. */
  | { readonly status: 'cancelled'; readonly reason: string; readonly nowMs: number }
  /** A cancelling backfill whose runs have all finished. */
  | { readonly status: 'cancel-done'; readonly nowMs: number };

export type PutTaskResult = 'created' | 'replaced';

/** What tells a task's versions apart, without its document: for cheap periodic re-reads. */
export interface TaskVersion {
  readonly id: string;
  readonly updatedMs: number;
  /** Running with an interval: the scheduler plans it. */
  readonly schedulable: boolean;
}

/**
 * What a task-change notification says: one task was written by another replica, `all` — the
 * notification channel was (re)connected, notifications sent meanwhile are gone, re-read everything —
 * or `replicas`: another replica stopped claiming (it is shutting down), re-read the live replicas.
 */
export type TaskChangeNotice =
  | { readonly kind: 'task'; readonly id: string; readonly change: 'created' | 'replaced' | 'deleted' | 'ended' }
  | { readonly kind: 'all' }
  | { readonly kind: 'replicas' };

export interface Store {
  /** Which implementation this is, for logs and /ready; nothing decides behaviour on it. */
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
  /**
   * Inserts a run (manual run, retry attempt, skipped slot). Undefined when (task, slot, attempt) exists
   * among the runs that are no backfill's. Never a backfill run: claimBackfillRuns makes those.
   */
  insertRun(run: NewRun): Promise<RunRecord | undefined>;
  /**
   * Writes how a running run ended. Undefined when the run is unknown or no longer running (a cluster
   * store holding a replica session: or not this replica's), e.g. declared lost meanwhile: that verdict stays.
   */
  finishRun(runId: number, report: RunReport): Promise<RunRecord | undefined>;
  /**
   * Ends a running run without a report: lost (owner died), failed (killed at shutdown), or skipped
   * (claimed but never started: its task was stopped, deleted or rescheduled meanwhile; `error.message`
   * says why).
   */
  abandonRun(runId: number, outcome: Extract<RunOutcome, 'lost' | 'failed' | 'skipped'>, error: RunError, nowMs: number): Promise<RunRecord | undefined>;
  /**
   * Extends the lease of those of `runIds` that are `owner`'s and still running, and returns how many.
   * The caller names the runs it holds (runs/held-runs.ts): a row it lost track of must expire.
   */
  renewLeases(owner: string, untilMs: number, runIds: readonly number[]): Promise<number>;
  /**
   * Marks running runs as lost and returns them: those whose lease expired before `nowMs`, and (cluster
   * stores) those whose owner's replica session has ended — the owner died, at once rather than a lease later.
   */
  expireLeases(nowMs: number): Promise<RunRecord[]>;

  /**
   * The latest slot that has a run row (any outcome), per task: where catch-up after downtime starts.
   * Backfill runs are left out: they are the past run again, not the live schedule's progress.
   */
  latestSlots(): Promise<Map<string, number>>;
  /**
   * Runs of these tasks that are still running, in id order (any owner; a cluster store leaves out
   * those whose owner's session ended). One round trip for the overlap check of a whole claim batch.
   * Backfill runs are left out: they never hold back a scheduled slot.
   */
  runningRuns(taskIds: readonly string[]): Promise<RunRecord[]>;
  /**
   * Retention: keeps the newest `keepPerTask` finished runs of each task (0 = all) and drops finished runs
   * older than `olderThanMs` (null = none). Returns how many were removed. Runs of an active backfill are
   * kept, and ranked as running runs are (not at all), until it ends and its counts are frozen.
   */
  trimRuns(options: { readonly keepPerTask: number; readonly olderThanMs: number | null }): Promise<number>;

  getRun(id: number): Promise<RunRecord | undefined>;
  /** A task's runs, newest first. */
  listRuns(taskId: string, query?: ListRunsQuery): Promise<RunRecord[]>;
  /** Counts and the last finished run cover every run (history); the failure streak is failuresBefore's. */
  runStats(taskId: string): Promise<RunStats>;
  /**
   * Failed or timed-out runs of the task before run `runId` (smaller ids) since the last success before
   * it: the streak a success `runId` ended (failure notifications: `recovered`). Skipped and lost runs
   * neither count nor break it, as in runStats; nor do backfill runs (the streak is the live schedule's).
   */
  failuresBefore(taskId: string, runId: number): Promise<number>;

  /**
   * Records a backfill as `running`, unless an active backfill of the task overlaps its range (one
   * decision: two requests racing on two replicas cannot both pass).
   */
  createBackfill(backfill: NewBackfill): Promise<CreateBackfillResult>;
  getBackfill(id: number): Promise<BackfillRecord | undefined>;
  /** Newest first. */
  listBackfills(query?: ListBackfillsQuery): Promise<BackfillRecord[]>;
  /** Ids of the backfills that are `running` or `cancelling`, oldest first: the driver's work list. */
  activeBackfills(): Promise<number[]>;
  backfillProgress(id: number, maxAttempts: number): Promise<BackfillProgress | undefined>;
  /**
   * Claims runs of a backfill: inserts them as running runs of `owner` and moves its next slot, in one
   * write. Undefined, and nothing inserted, when its version moved (another claim came first), it is
   * no longer `running` or not `taskId`'s (a cluster store whose replica session is down: always).
   * Runs already there (same backfill, slot, attempt) are left out of the answer.
   */
  claimBackfillRuns(claim: BackfillClaim): Promise<RunRecord[] | undefined>;
  /**
   * Ends (or starts cancelling) an active backfill, freezing its counts when it ends. Undefined when
   * the end does not apply (already ended; completed: version moved or a run still running; cancelled:
   * already cancelling; cancel-done: not cancelling, or a run still running). A run still marked
   * running counts, a dead replica's too, until a sweep declares it lost.
   */
  endBackfill(id: number, end: BackfillEnd): Promise<BackfillRecord | undefined>;

  /** The store's own clock, epoch ms: PostgreSQL's `clock_timestamp()`, the local clock for SQLite. */
  now(): Promise<number>;

  /** Every task's version, without reading or parsing documents: cheap periodic re-reads. */
  listTaskVersions(): Promise<TaskVersion[]>;

  close(): Promise<void>;
}

/** A store shared by several Director replicas (PostgreSQL). */
export interface ClusterStore extends Store {
  /**
   * Calls `listener` for every task written by another replica, and with `{kind: 'all'}` after every
   * (re)connection of the channel, since notifications sent while it was down are lost. Resolves with
   * a function that stops watching.
   */
  watchTaskChanges(listener: (notice: TaskChangeNotice) => void): Promise<() => Promise<void>>;
  /**
   * Instance ids of the replicas whose change watch is connected right now (this one included while
   * its own is), as the database knows them (PostgreSQL: their application_name).
   */
  liveReplicas(): Promise<string[]>;
  /**
   * Why this replica may not claim or start runs right now (its replica session is down), or
   * undefined while it may (always, for a store opened without a session).
   */
  sessionDownReason(): string | undefined;
}
