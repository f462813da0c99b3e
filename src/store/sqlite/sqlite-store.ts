// The embedded Store: one SQLite file (better-sqlite3, WAL) under the data folder.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RunError, RunRecord, RunReport, RunStats } from '../../domain/run.js';
import { toTaskRow, type Task } from '../../domain/task.js';
import { leaseExpiredError, pageOf, runFromRow, runStatsFrom, taskFromRow, type RunRow, type TaskDbRow } from '../rows.js';
import type { ClaimRequest, ListRunsQuery, ListTasksQuery, NewRun, PutTaskResult, Store } from '../store.js';
import { migrateSqlite } from './migrations.js';
import { prepareQueries } from './sqlite-queries.js';

export interface SqliteStoreOptions {
  /** The database file; its folder is created when missing. */
  readonly file: string;
  /**
   * FULL (default) fsyncs the WAL at every commit, so an acknowledged write survives a power cut.
   * NORMAL survives a crash of Director but may lose the last commits on power loss; faster.
   */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How long a write waits for another process holding the lock before failing. */
  readonly busyTimeoutMs?: number;
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
  // better-sqlite3's `timeout` is SQLite's busy_timeout: writers of other processes are waited for.
  const db = new Database(options.file, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    configure(db, options);
    migrateSqlite(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db);
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
  db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
  // Runs must outlive their task (history after delete), so no foreign keys.
  db.pragma('foreign_keys = OFF');
}

type Queries = ReturnType<typeof prepareQueries>;

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly q: Queries;
  private closed = false;
  private readonly putTaskTx: (task: Task) => PutTaskResult;
  private readonly claimTx: (claims: readonly ClaimRequest[]) => RunRecord[];
  private readonly trimTx: (keepPerTask: number, olderThanMs: number | null) => number;
  private readonly statsTx: (taskId: string) => RunStats;

  constructor(private readonly db: Database.Database) {
    this.q = prepareQueries(db);
    const q = this.q;
    // IMMEDIATE transactions take the write lock up front: a read-then-write transaction that has to
    // upgrade its lock could otherwise fail with SQLITE_BUSY when another process writes meanwhile.
    const putTask = db.transaction((task: Task) => {
      const row = { ...toTaskRow(task), running: task.running ? 1 : 0 };
      if (q.taskExists.get(task.id) === undefined) {
        q.insertTask.run(row);
        return 'created' as const;
      }
      q.updateTask.run(row);
      return 'replaced' as const;
    });
    this.putTaskTx = (task) => putTask.immediate(task);
    const claim = db.transaction((claims: readonly ClaimRequest[]) => {
      const won: RunRecord[] = [];
      for (const c of claims) {
        const row = q.claimSlot.get({ taskId: c.taskId, slot: c.slot, owner: c.owner, nowMs: c.nowMs, leaseMs: c.leaseMs }) as RunRow | undefined;
        if (row !== undefined) won.push(runFromRow(row));
      }
      return won;
    });
    this.claimTx = (claims) => claim.immediate(claims);
    const trim = db.transaction((keepPerTask: number, olderThanMs: number | null) => {
      let removed = 0;
      if (keepPerTask > 0) removed += q.trimKeep.run(keepPerTask).changes;
      if (olderThanMs !== null) removed += q.trimOlder.run(olderThanMs).changes;
      return removed;
    });
    this.trimTx = (keepPerTask, olderThanMs) => trim.immediate(keepPerTask, olderThanMs);
    // One read transaction: the three reads see one snapshot even while another process writes runs.
    this.statsTx = db.transaction((taskId: string) => {
      const counts = q.statusCounts.all(taskId) as { status: string; n: number }[];
      const last = q.lastFinishedRun.get(taskId) as RunRow | undefined;
      const failures = q.consecutiveFailures.get({ taskId }) as number;
      return runStatsFrom(counts, last, failures);
    });
  }

  async putTask(task: Task): Promise<PutTaskResult> {
    return this.putTaskTx(task);
  }

  async getTask(id: string): Promise<Task | undefined> {
    const row = this.q.getTask.get(id) as TaskDbRow | undefined;
    return row === undefined ? undefined : taskFromRow(row);
  }

  async listTasks(query: ListTasksQuery = {}): Promise<Task[]> {
    const filters = Object.entries(query.filter ?? {});
    const { limit, offset } = pageOf(query);
    const rows = this.q.listTasks(filters.length).all(...filters.flat(), limit ?? -1, offset) as TaskDbRow[];
    return rows.map(taskFromRow);
  }

  async countTasks(): Promise<{ total: number; running: number }> {
    return this.q.countTasks.get() as { total: number; running: number };
  }

  async deleteTask(id: string): Promise<boolean> {
    return this.q.deleteTask.run(id).changes > 0;
  }

  async deleteEndedTask(id: string, nowMs: number): Promise<boolean> {
    return this.q.deleteEndedTask.run(id, nowMs).changes > 0;
  }

  async claimSlots(claims: readonly ClaimRequest[]): Promise<RunRecord[]> {
    if (claims.length === 0) return [];
    return this.claimTx(claims);
  }

  async insertRun(run: NewRun): Promise<RunRecord | undefined> {
    const skipped = run.skipped !== undefined;
    const row = this.q.insertRun.get({
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
    }) as RunRow | undefined;
    return row === undefined ? undefined : runFromRow(row);
  }

  async finishRun(runId: number, report: RunReport): Promise<RunRecord | undefined> {
    const row = this.q.finishRun.get({
      id: runId,
      status: report.outcome,
      result: report.outcome === 'succeeded' ? report.result : null,
      error: report.outcome === 'succeeded' ? null : JSON.stringify(report.error),
      logs: report.logs,
      startedMs: report.startedMs,
      finishedMs: report.finishedMs,
      scriptUrl: report.scriptUrl,
      scriptSha256: report.scriptSha256,
    }) as RunRow | undefined;
    return row === undefined ? undefined : runFromRow(row);
  }

  async abandonRun(runId: number, outcome: Parameters<Store['abandonRun']>[1], error: RunError, nowMs: number): Promise<RunRecord | undefined> {
    const row = this.q.abandonRun.get({ id: runId, status: outcome, error: JSON.stringify(error), nowMs }) as RunRow | undefined;
    return row === undefined ? undefined : runFromRow(row);
  }

  async renewLeases(owner: string, untilMs: number, runIds?: readonly number[]): Promise<number> {
    if (runIds === undefined) return this.q.renewLeases.run({ owner, untilMs }).changes;
    if (runIds.length === 0) return 0;
    return this.q.renewLeasesOf.run({ owner, untilMs, ids: JSON.stringify(runIds) }).changes;
  }

  async now(): Promise<number> {
    return Date.now();
  }

  async expireLeases(nowMs: number): Promise<RunRecord[]> {
    const rows = this.q.expireLeases.all({ nowMs, error: JSON.stringify(leaseExpiredError(nowMs)) }) as RunRow[];
    return rows.map(runFromRow).sort((a, b) => a.id - b.id);
  }

  async latestSlots(): Promise<Map<string, number>> {
    const rows = this.q.latestSlots.all() as { task_id: string; slot_ms: number }[];
    return new Map(rows.map((r) => [r.task_id, r.slot_ms]));
  }

  async runningRuns(taskId: string): Promise<RunRecord[]> {
    return (this.q.runningRuns.all(taskId) as RunRow[]).map(runFromRow);
  }

  async trimRuns(options: { readonly keepPerTask: number; readonly olderThanMs: number | null }): Promise<number> {
    return this.trimTx(Math.max(0, Math.trunc(options.keepPerTask)), options.olderThanMs);
  }

  async getRun(id: number): Promise<RunRecord | undefined> {
    const row = this.q.getRun.get(id) as RunRow | undefined;
    return row === undefined ? undefined : runFromRow(row);
  }

  async listRuns(taskId: string, query?: ListRunsQuery): Promise<RunRecord[]> {
    const { limit, offset } = pageOf(query);
    return (this.q.listRuns.all(taskId, limit ?? -1, offset) as RunRow[]).map(runFromRow);
  }

  async runStats(taskId: string): Promise<RunStats> {
    return this.statsTx(taskId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
