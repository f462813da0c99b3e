// The embedded Store: one SQLite file (better-sqlite3, WAL) under the data folder.

import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BackfillRecord } from '../../domain/backfill.js';
import type { RunError, RunRecord, RunReport, RunStats } from '../../domain/run.js';
import { toTaskRow, type Task } from '../../domain/task.js';
import { backfillEndWrite } from '../backfill-end.js';
import {
  backfillCountsFrom, backfillFromRow, backfillScheduleText, leaseExpiredError, pageOf, runFromRow, runStatsFrom, taskFromRow,
  type BackfillRow, type RunRow, type TaskDbRow,
} from '../rows.js';
import type {
  BackfillClaim, BackfillEnd, BackfillProgress, ClaimRequest, CreateBackfillResult, ListBackfillsQuery, ListRunsQuery, ListTasksQuery,
  NewBackfill, NewRun, PutTaskResult, Store, TaskVersion,
} from '../store.js';
import { createGroupCommit, type GroupCommit } from './group-commit.js';
import { migrateSqlite } from './migrations.js';
import { prepareBackfillQueries, type SqliteBackfillQueries } from './sqlite-backfill-queries.js';
import { prepareQueries } from './sqlite-queries.js';

export interface SqliteStoreOptions {
  /** The database file; its folder is created when missing. */
  readonly file: string;
  /**
   * FULL (default): a write is acknowledged once the WAL holding it is on disk, so it survives a power
   * cut (the fsync runs off the event loop, see group-commit.ts). NORMAL acknowledges at commit: it
   * survives a crash of Director but may lose the last commits on power loss; for tests and fills.
   */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How long a write waits for another process holding the lock before failing. */
  readonly busyTimeoutMs?: number;
}

/**
 * The data folder is created 0700 and the database 0600 before SQLite opens it: SQLite gives its -wal
 * and -shm files the database's mode, and tasks may hold credentials. Files of an older Director are
 * made 0600 too; an existing folder is left as the operator made it.
 */
function restrictModes(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const name of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(name, 0o600);
    } catch {
      // Missing (no WAL yet), or not ours to change (a read-only mount): SQLite's open says what matters.
    }
  }
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  restrictModes(path.resolve(options.file));
  // better-sqlite3's `timeout` is SQLite's busy_timeout: writers of other processes are waited for.
  const db = new Database(options.file, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    configure(db, options);
    migrateSqlite(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db, options.synchronous === 'NORMAL' ? null : `${path.resolve(options.file)}-wal`);
}

function configure(db: Database.Database, options: SqliteStoreOptions): void {
  // When several processes open a new file at once, the switch to WAL (or the WAL recovery of another
  // opener) can answer SQLITE_BUSY without going through busy_timeout, so it is retried here, as long.
  const deadline = Date.now() + (options.busyTimeoutMs ?? 5000);
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      break;
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY') !== true || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  // No sync inside COMMIT, which would block the event loop: the group commit syncs the WAL itself
  // before it answers (FULL), or does not (NORMAL). Checkpoints still sync, as under FULL.
  db.pragma('synchronous = NORMAL');
  // Runs must outlive their task (history after delete), so no foreign keys.
  db.pragma('foreign_keys = OFF');
}

type Queries = ReturnType<typeof prepareQueries>;

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly q: Queries;
  private readonly b: SqliteBackfillQueries;
  private closed = false;
  /**
   * Every write goes through it: one transaction per event-loop turn, each write in its own savepoint,
   * each caller answered once the commit is on disk. So the writes below need no transaction of their
   * own: a multi-statement write (putTask, claimSlots, trimRuns) is atomic all the same. Reads first
   * wait for the fsync in flight (`durable()`), so this process never reads what a power cut could undo.
   */
  private readonly commits: GroupCommit;
  private readonly statsTx: (taskId: string) => RunStats;

  constructor(private readonly db: Database.Database, walFile: string | null) {
    this.q = prepareQueries(db);
    this.b = prepareBackfillQueries(db);
    const q = this.q;
    this.commits = createGroupCommit(db, walFile);
    // One read transaction: the three reads see one snapshot even while another process writes runs.
    this.statsTx = db.transaction((taskId: string) => {
      const counts = q.runStatsCounts.all(taskId) as { status: string; n: number }[];
      const last = q.runStatsLastRun.get(taskId) as RunRow | undefined;
      const failures = q.runStatsFailures.get({ taskId }) as number;
      return runStatsFrom(counts, last, failures);
    });
  }

  async putTask(task: Task): Promise<PutTaskResult> {
    const row = { ...toTaskRow(task), running: task.running ? 1 : 0 };
    const q = this.q;
    return this.commits.write((): PutTaskResult => {
      const exists = q.taskExists.get(task.id) !== undefined;
      q.putTask.run(row);
      return exists ? 'replaced' : 'created';
    });
  }

  async getTask(id: string): Promise<Task | undefined> {
    await this.commits.durable();
    const row = this.q.getTask.get(id) as TaskDbRow | undefined;
    return row === undefined ? undefined : taskFromRow(row);
  }

  async listTasks(query: ListTasksQuery = {}): Promise<Task[]> {
    await this.commits.durable();
    const filters = Object.entries(query.filter ?? {});
    const { limit, offset } = pageOf(query);
    const rows = this.q.listTasks(filters.length).all(...filters.flat(), limit ?? -1, offset) as TaskDbRow[];
    return rows.map(taskFromRow);
  }

  async countTasks(): Promise<{ total: number; running: number }> {
    await this.commits.durable();
    return this.q.countTasks.get() as { total: number; running: number };
  }

  async deleteTask(id: string): Promise<boolean> {
    return this.commits.write(() => this.q.deleteTask.run(id).changes > 0);
  }

  async deleteEndedTask(id: string, nowMs: number): Promise<boolean> {
    return this.commits.write(() => this.q.deleteEndedTask.run(id, nowMs).changes > 0);
  }

  async claimSlots(claims: readonly ClaimRequest[]): Promise<RunRecord[]> {
    if (claims.length === 0) return [];
    const q = this.q;
    const rows = await this.commits.write(() => {
      const won: RunRow[] = [];
      for (const c of claims) {
        const row = q.claimSlots.get({ taskId: c.taskId, slot: c.slot, owner: c.owner, nowMs: c.nowMs, leaseMs: c.leaseMs }) as RunRow | undefined;
        if (row !== undefined) won.push(row);
      }
      return won;
    });
    return rows.map(runFromRow);
  }

  async insertRun(run: NewRun): Promise<RunRecord | undefined> {
    const skipped = run.skipped !== undefined;
    const values = {
      taskId: run.taskId,
      slot: run.slot,
      attempt: run.attempt,
      trigger: run.trigger,
      status: skipped ? 'skipped' : 'running',
      owner: run.owner,
      nowMs: run.nowMs,
      // A skipped slot never started; its reason is what a reader of its logs needs.
      startedMs: skipped ? null : run.nowMs,
      finishedMs: skipped ? run.nowMs : null,
      logs: run.skipped?.reason ?? null,
      leaseUntilMs: skipped ? null : run.nowMs + run.leaseMs,
    };
    const row = await this.commits.write(() => this.q.insertRun.get(values) as RunRow | undefined);
    return row === undefined ? undefined : runFromRow(row);
  }

  async finishRun(runId: number, report: RunReport): Promise<RunRecord | undefined> {
    const values = {
      id: runId,
      status: report.outcome,
      result: report.outcome === 'succeeded' ? report.result : null,
      error: report.outcome === 'succeeded' ? null : JSON.stringify(report.error),
      logs: report.logs,
      queuedMs: report.queuedMs,
      startedMs: report.startedMs,
      finishedMs: report.finishedMs,
      scriptUrl: report.scriptUrl,
      scriptSha256: report.scriptSha256,
    };
    const row = await this.commits.write(() => this.q.finishRun.get(values) as RunRow | undefined);
    return row === undefined ? undefined : runFromRow(row);
  }

  async abandonRun(runId: number, outcome: Parameters<Store['abandonRun']>[1], error: RunError, nowMs: number): Promise<RunRecord | undefined> {
    const values = { id: runId, status: outcome, error: JSON.stringify(error), nowMs };
    const row = await this.commits.write(() => this.q.abandonRun.get(values) as RunRow | undefined);
    return row === undefined ? undefined : runFromRow(row);
  }

  async renewLeases(owner: string, untilMs: number, runIds: readonly number[]): Promise<number> {
    if (runIds.length === 0) return 0;
    const ids = JSON.stringify(runIds);
    return this.commits.write(() => this.q.renewLeases.run({ owner, untilMs, ids }).changes);
  }

  async now(): Promise<number> {
    return Date.now();
  }

  async expireLeases(nowMs: number): Promise<RunRecord[]> {
    const error = JSON.stringify(leaseExpiredError(nowMs));
    const rows = await this.commits.write(() => this.q.expireLeases.all({ nowMs, error }) as RunRow[]);
    return rows.map(runFromRow).sort((a, b) => a.id - b.id);
  }

  async latestSlots(): Promise<Map<string, number>> {
    await this.commits.durable();
    const rows = this.q.latestSlots.all() as { task_id: string; slot_ms: number }[];
    return new Map(rows.map((r) => [r.task_id, r.slot_ms]));
  }

  async runningRuns(taskIds: readonly string[]): Promise<RunRecord[]> {
    if (taskIds.length === 0) return [];
    await this.commits.durable();
    return (this.q.runningRuns.all({ ids: JSON.stringify(taskIds) }) as RunRow[]).map(runFromRow);
  }

  async listTaskVersions(): Promise<TaskVersion[]> {
    await this.commits.durable();
    const rows = this.q.listTaskVersions.all() as { id: string; updated_ms: number; schedulable: number }[];
    return rows.map((r) => ({ id: r.id, updatedMs: r.updated_ms, schedulable: r.schedulable === 1 }));
  }

  async trimRuns(options: { readonly keepPerTask: number; readonly olderThanMs: number | null }): Promise<number> {
    const keepPerTask = Math.max(0, Math.trunc(options.keepPerTask));
    const { olderThanMs } = options;
    return this.commits.write(() => this.q.trimRuns.run({ keepPerTask, olderThanMs }).changes);
  }

  async getRun(id: number): Promise<RunRecord | undefined> {
    await this.commits.durable();
    const row = this.q.getRun.get(id) as RunRow | undefined;
    return row === undefined ? undefined : runFromRow(row);
  }

  async listRuns(taskId: string, query?: ListRunsQuery): Promise<RunRecord[]> {
    await this.commits.durable();
    const { limit, offset } = pageOf(query);
    return (this.q.listRuns.all(taskId, limit ?? -1, offset) as RunRow[]).map(runFromRow);
  }

  async runStats(taskId: string): Promise<RunStats> {
    await this.commits.durable();
    return this.statsTx(taskId);
  }

  async failuresBefore(taskId: string, runId: number): Promise<number> {
    await this.commits.durable();
    return this.q.failuresBefore.get({ taskId, runId }) as number;
  }

  // Backfills: every decision below is one write of the group commit, so it is atomic against any other
  // writer, this process's or another's (IMMEDIATE transactions).

  async createBackfill(backfill: NewBackfill): Promise<CreateBackfillResult> {
    const b = this.b;
    const values = { ...backfill, schedule: backfillScheduleText(backfill.schedule) };
    const result = await this.commits.write((): { overlaps: BackfillRow } | { created: BackfillRow } => {
      const overlaps = b.overlappingBackfill.get(values) as BackfillRow | undefined;
      return overlaps !== undefined ? { overlaps } : { created: b.insertBackfill.get(values) as BackfillRow };
    });
    return 'overlaps' in result ? { overlaps: backfillFromRow(result.overlaps) } : { created: backfillFromRow(result.created) };
  }

  async getBackfill(id: number): Promise<BackfillRecord | undefined> {
    await this.commits.durable();
    const row = this.b.getBackfill.get(id) as BackfillRow | undefined;
    return row === undefined ? undefined : backfillFromRow(row);
  }

  async listBackfills(query: ListBackfillsQuery = {}): Promise<BackfillRecord[]> {
    await this.commits.durable();
    const { limit, offset } = pageOf(query);
    const rows = this.b.listBackfills.all({ taskId: query.taskId ?? null, status: query.status ?? null, limit: limit ?? -1, offset }) as BackfillRow[];
    return rows.map(backfillFromRow);
  }

  async activeBackfills(): Promise<number[]> {
    await this.commits.durable();
    return this.b.activeBackfills.all() as number[];
  }

  async backfillProgress(id: number, maxAttempts: number): Promise<BackfillProgress | undefined> {
    await this.commits.durable();
    return this.b.backfillProgress(id, maxAttempts);
  }

  async claimBackfillRuns(claim: BackfillClaim): Promise<RunRecord[] | undefined> {
    const b = this.b;
    const { backfillId, taskId, owner, nowMs, leaseMs } = claim;
    const rows = await this.commits.write(() => {
      if (b.claimBackfill.run({ backfillId, taskId, version: claim.version, nextSlot: claim.nextSlot }).changes === 0) return undefined;
      return claim.runs.flatMap(({ slot, attempt }) => {
        const row = b.claimBackfillRun.get({ backfillId, taskId, slot, attempt, owner, nowMs, leaseMs }) as RunRow | undefined;
        return row === undefined ? [] : [row];
      });
    });
    return rows?.map(runFromRow);
  }

  async endBackfill(id: number, end: BackfillEnd): Promise<BackfillRecord | undefined> {
    const b = this.b;
    const row = await this.commits.write(() => {
      const current = b.getBackfill.get(id) as BackfillRow | undefined;
      const write = current === undefined ? undefined : backfillEndWrite(current, b.backfillRunning.get(id) as number, end);
      if (current === undefined || write === undefined) return undefined;
      // Nothing of it runs any more when it ends, so its last attempts are final: frozen here.
      const counts = write.freeze ? JSON.stringify(backfillCountsFrom(current.slots, b.backfillCounts.all({ id }) as { status: string; n: number }[])) : null;
      return b.endBackfill.get({ id, status: write.status, reason: write.reason, finishedMs: write.finishedMs, counts }) as BackfillRow;
    });
    return row === undefined ? undefined : backfillFromRow(row);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Writes queued in this turn are committed and synced (their callers answered) before the file closes.
    await this.commits.close();
    this.db.close();
  }
}
