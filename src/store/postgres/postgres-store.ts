// The cluster Store: PostgreSQL (pg pool), shared by every Director replica and arbiter of every claim.

import pg from 'pg';
import type { Logger } from '../../lib/logger.js';
import { redactUrl } from '../../lib/logger.js';
import type { BackfillRecord } from '../../domain/backfill.js';
import type { RunError, RunRecord, RunReport, RunStats } from '../../domain/run.js';
import { toTaskRow, type Task } from '../../domain/task.js';
import { backfillEndWrite } from '../backfill-end.js';
import {
  backfillCountsFrom, backfillFromRow, backfillScheduleText, leaseExpiredError, pageOf, sessionEndedError, runFromRow, runStatsFrom, taskFromRow,
  type BackfillRow, type RunRow, type TaskDbRow,
} from '../rows.js';
import type {
  BackfillClaim, BackfillEnd, BackfillProgress, ClaimRequest, ClusterStore, CreateBackfillResult, ListBackfillsQuery, ListRunsQuery, ListTasksQuery,
  NewBackfill, NewRun, PutTaskResult, Store, TaskChangeNotice, TaskVersion,
} from '../store.js';
import { migratePostgres, SCHEMA_NAME } from './migrations.js';
import { backfillSql } from './postgres-backfill-queries.js';
import { listTasksSql, sql } from './postgres-queries.js';
import { openReplicaSession, type ReplicaSession } from './replica-session.js';
import { watchTaskChanges } from './task-change-watch.js';

export interface PostgresStoreOptions {
  /** A postgres:// connection string (DIRECTOR_DATABASE_URL). It is never logged with its password. */
  readonly url: string;
  /** Tables live in this schema (created when missing) instead of the connection's default search_path. */
  readonly schema?: string;
  /** Pool size; a replica needs few connections since every operation is one short statement. */
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  /**
   * This replica's name (config.instanceId): the application_name of its connections (so operators
   * see and can terminate them), and the origin of its change notifications.
   */
  readonly instanceId?: string;
  /**
   * Hold a replica session (replica-session.ts) while the store is open: what a Director replica does.
   * Its running runs then carry the session's key and are declared lost as soon as the session ends;
   * it claims and starts nothing while the session is down; and it writes outcomes only for runs that
   * are still running and its own (fencing). Without it (tests, tools) runs rely on leases alone.
   */
  readonly replicaSession?: boolean;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

/** What the store keeps of its options after opening. */
interface Cluster {
  readonly url: string;
  readonly instanceId: string;
  /** Channels are database-wide, so one per schema; a name past 63 bytes is cut, as PostgreSQL would. */
  readonly channel: string;
  readonly replicaLock: readonly [number, number];
  readonly connectTimeoutMs: number;
  readonly schema: string | null;
  readonly logger: Pick<Logger, 'info' | 'warn'> | undefined;
}

// BIGINT (ms columns, ids, counts) arrives as text by default; every value here is far below 2^53.
// Parsers are set per pool, not on pg's global registry that other code in the process may share.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export async function openPostgresStore(options: PostgresStoreOptions): Promise<ClusterStore> {
  const schema = options.schema ?? null;
  if (schema !== null && !SCHEMA_NAME.test(schema)) {
    throw new Error(`PostgreSQL schema "${schema}" is not accepted: use lowercase letters, digits and "_" (at most 63), starting with a letter or "_".`);
  }
  const cluster: Cluster = {
    url: options.url,
    instanceId: options.instanceId ?? 'director',
    channel: (schema === null ? 'director_tasks' : `director_tasks_${schema}`).slice(0, 63),
    replicaLock: [hash32('director:replicas'), hash32(schema ?? '')],
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    schema,
    logger: options.logger,
  };
  const pool = new pg.Pool({ ...connectionConfig(cluster), max: options.maxConnections ?? 10 });
  // Without a listener, an idle connection dropped by the server (restart, failover) would crash Director.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'an idle PostgreSQL connection failed; the pool opens a new one when needed'));
  try {
    await checkConnection(pool, options.url);
    const applied = await migratePostgres(pool, schema);
    if (applied.length > 0) options.logger?.info({ versions: applied, schema }, 'PostgreSQL migrations applied');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const session = options.replicaSession === true
    ? await openReplicaSession({ newClient: () => new pg.Client(connectionConfig(cluster)), ...(options.logger ? { logger: options.logger } : {}) })
    : undefined;
  return new PostgresStore(pool, cluster, session);
}

function connectionConfig(cluster: Cluster): pg.ClientConfig {
  return {
    connectionString: cluster.url,
    connectionTimeoutMillis: cluster.connectTimeoutMs,
    application_name: cluster.instanceId,
    // A peer that vanished without closing (network cut) is noticed by TCP keepalive, not never.
    keepAlive: true,
    types,
    // Set at connection start-up, so no query of a pooled connection can run before it applies.
    ...(cluster.schema === null ? {} : { options: `-c search_path=${cluster.schema}` }),
  };
}

/** A stable signed 32-bit key for advisory locks (FNV-1a). */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** A failure to connect names the (redacted) address and what to check, rather than a bare ECONNREFUSED. */
async function checkConnection(pool: pg.Pool, url: string): Promise<void> {
  try {
    (await pool.connect()).release();
  } catch (error) {
    throw new Error(
      `PostgreSQL at ${redactUrl(url)} could not be reached: ${(error as Error).message}. Check that the server runs and ` +
        'accepts this user, and that DIRECTOR_DATABASE_URL names the right host, port and database.',
      { cause: error },
    );
  }
}

/** A named statement with its values: the store's own (any pooled connection) or a transaction's (its one). */
type Query = <R extends pg.QueryResultRow>(name: string, text: string, values: readonly unknown[]) => Promise<pg.QueryResult<R>>;

class PostgresStore implements ClusterStore {
  readonly kind = 'postgres' as const;
  private ended = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly cluster: Cluster,
    private readonly session: ReplicaSession | undefined,
  ) {}

  /** The session key new running runs carry (null without a session); undefined: the session is down. */
  private sessionKey(): string | null | undefined {
    if (this.session === undefined) return null;
    return this.session.isLive() ? this.session.key : undefined;
  }

  /** The owner an outcome may only be written for (fencing), when this store speaks for a replica. */
  private fenceOwner(): string | null {
    return this.session === undefined ? null : this.cluster.instanceId;
  }

  /** Named statements are prepared once per pooled connection, then only bound and executed. */
  private async query<R extends pg.QueryResultRow>(name: string, text: string, values: readonly unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ name: `director_${name}`, text, values: [...values] });
  }

  /**
   * Runs `body` in one transaction on one pooled connection (its statements prepared on it, as above).
   * A connection whose ROLLBACK failed is discarded rather than handed to the next caller mid-transaction.
   */
  private async transaction<T>(body: (query: Query) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const value = await body((name, text, values) => client.query({ name: `director_${name}`, text, values: [...values] }));
      await client.query('COMMIT');
      return value;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async putTask(task: Task): Promise<PutTaskResult> {
    const row = toTaskRow(task);
    // cron and timezone come last ($11, $12), after the notification's channel and origin ($9, $10).
    const values = [row.id, row.doc, row.running, row.initMs, row.endMs, row.intervalMs, row.createdMs, row.updatedMs, this.cluster.channel, this.cluster.instanceId, row.cron, row.timezone];
    const { rows } = await this.query<{ created: boolean }>('putTask', sql.putTask, values);
    return rows[0]?.created ? 'created' : 'replaced';
  }

  async getTask(id: string): Promise<Task | undefined> {
    const { rows } = await this.query<TaskDbRow>('getTask', sql.getTask, [id]);
    return rows[0] === undefined ? undefined : taskFromRow(rows[0]);
  }

  async listTasks(query: ListTasksQuery = {}): Promise<Task[]> {
    const filters = Object.entries(query.filter ?? {});
    const { limit, offset } = pageOf(query);
    const { rows } = await this.query<TaskDbRow>(`listTasks${filters.length}`, listTasksSql(filters.length), [...filters.flat(), limit, offset]);
    return rows.map(taskFromRow);
  }

  async countTasks(): Promise<{ total: number; running: number }> {
    const { rows } = await this.query<{ total: number; running: number }>('countTasks', sql.countTasks, []);
    return { total: rows[0]?.total ?? 0, running: rows[0]?.running ?? 0 };
  }

  async deleteTask(id: string): Promise<boolean> {
    return ((await this.query('deleteTask', sql.deleteTask, [id, this.cluster.channel, this.cluster.instanceId])).rowCount ?? 0) > 0;
  }

  async deleteEndedTask(id: string, nowMs: number): Promise<boolean> {
    return ((await this.query('deleteEndedTask', sql.deleteEndedTask, [id, nowMs, this.cluster.channel, this.cluster.instanceId])).rowCount ?? 0) > 0;
  }

  async claimSlots(claims: readonly ClaimRequest[]): Promise<RunRecord[]> {
    const key = this.sessionKey();
    // Session down: the claim would be refused anyway (and the others take these slots).
    if (claims.length === 0 || key === undefined) return [];
    const { rows } = await this.query<RunRow>('claimSlots', sql.claimSlots, [
      claims.map((c) => c.taskId),
      claims.map((c) => c.slot),
      claims.map((c) => c.owner),
      claims.map((c) => c.nowMs),
      claims.map((c) => c.leaseMs),
      key,
    ]);
    return rows.map(runFromRow).sort((a, b) => a.id - b.id);
  }

  async insertRun(run: NewRun): Promise<RunRecord | undefined> {
    const skipped = run.skipped !== undefined;
    const key = this.sessionKey();
    if (!skipped && key === undefined) return undefined;
    const { rows } = await this.query<RunRow>('insertRun', sql.insertRun, [
      run.taskId,
      run.slot,
      run.attempt,
      run.trigger,
      skipped ? 'skipped' : 'running',
      run.owner,
      run.nowMs,
      // A skipped slot never started; its reason is what a reader of its logs needs.
      skipped ? null : run.nowMs,
      skipped ? run.nowMs : null,
      run.skipped?.reason ?? null,
      skipped ? null : run.nowMs + run.leaseMs,
      skipped ? null : key,
    ]);
    return rows[0] === undefined ? undefined : runFromRow(rows[0]);
  }

  async finishRun(runId: number, report: RunReport): Promise<RunRecord | undefined> {
    const { rows } = await this.query<RunRow>('finishRun', sql.finishRun, [
      runId,
      report.outcome,
      report.outcome === 'succeeded' ? report.result : null,
      report.outcome === 'succeeded' ? null : JSON.stringify(report.error),
      report.logs,
      report.startedMs,
      report.finishedMs,
      report.scriptUrl,
      report.scriptSha256,
      this.fenceOwner(),
      report.queuedMs,
    ]);
    return rows[0] === undefined ? undefined : runFromRow(rows[0]);
  }

  async abandonRun(runId: number, outcome: Parameters<Store['abandonRun']>[1], error: RunError, nowMs: number): Promise<RunRecord | undefined> {
    const { rows } = await this.query<RunRow>('abandonRun', sql.abandonRun, [runId, outcome, JSON.stringify(error), nowMs, this.fenceOwner()]);
    return rows[0] === undefined ? undefined : runFromRow(rows[0]);
  }

  async renewLeases(owner: string, untilMs: number, runIds: readonly number[]): Promise<number> {
    if (runIds.length === 0) return 0;
    return (await this.query('renewLeases', sql.renewLeases, [owner, untilMs, [...runIds]])).rowCount ?? 0;
  }

  async expireLeases(nowMs: number): Promise<RunRecord[]> {
    const { rows } = await this.query<RunRow>('expireLeases', sql.expireLeases, [nowMs, JSON.stringify(leaseExpiredError(nowMs)), JSON.stringify(sessionEndedError(nowMs))]);
    return rows.map(runFromRow).sort((a, b) => a.id - b.id);
  }

  async latestSlots(): Promise<Map<string, number>> {
    const { rows } = await this.query<{ task_id: string; slot_ms: number }>('latestSlots', sql.latestSlots, []);
    return new Map(rows.map((r) => [r.task_id, r.slot_ms]));
  }

  async runningRuns(taskIds: readonly string[]): Promise<RunRecord[]> {
    if (taskIds.length === 0) return [];
    return (await this.query<RunRow>('runningRuns', sql.runningRuns, [[...taskIds]])).rows.map(runFromRow);
  }

  async trimRuns(options: { readonly keepPerTask: number; readonly olderThanMs: number | null }): Promise<number> {
    const keep = Math.max(0, Math.trunc(options.keepPerTask));
    return (await this.query('trimRuns', sql.trimRuns, [keep, options.olderThanMs])).rowCount ?? 0;
  }

  async getRun(id: number): Promise<RunRecord | undefined> {
    const { rows } = await this.query<RunRow>('getRun', sql.getRun, [id]);
    return rows[0] === undefined ? undefined : runFromRow(rows[0]);
  }

  async listRuns(taskId: string, query?: ListRunsQuery): Promise<RunRecord[]> {
    const { limit, offset } = pageOf(query);
    return (await this.query<RunRow>('listRuns', sql.listRuns, [taskId, limit, offset])).rows.map(runFromRow);
  }

  async runStats(taskId: string): Promise<RunStats> {
    type StatsRow = { counts: Record<string, number>; failures: number } & { [K in keyof RunRow]: RunRow[K] | null };
    const { rows } = await this.query<StatsRow>('runStats', sql.runStats, [taskId]);
    const row = rows[0];
    const counts = Object.entries(row?.counts ?? {}).map(([status, n]) => ({ status, n }));
    const last = row !== undefined && row.id !== null ? (row as unknown as RunRow) : undefined;
    return runStatsFrom(counts, last, row?.failures ?? 0);
  }

  async failuresBefore(taskId: string, runId: number): Promise<number> {
    const { rows } = await this.query<{ n: number }>('failuresBefore', sql.failuresBefore, [taskId, runId]);
    return rows[0]?.n ?? 0;
  }

  async createBackfill(b: NewBackfill): Promise<CreateBackfillResult> {
    return this.transaction(async (query): Promise<CreateBackfillResult> => {
      await query('lockTaskBackfills', backfillSql.lockTaskBackfills, [b.taskId]);
      const overlaps = (await query<BackfillRow>('overlappingBackfill', backfillSql.overlappingBackfill, [b.taskId, b.fromMs, b.toMs])).rows[0];
      if (overlaps !== undefined) return { overlaps: backfillFromRow(overlaps) };
      const values = [b.taskId, b.fromMs, b.toMs, backfillScheduleText(b.schedule), b.slots, b.concurrency, b.firstSlot, b.requestedBy, b.nowMs];
      const { rows } = await query<BackfillRow>('insertBackfill', backfillSql.insertBackfill, values);
      return { created: backfillFromRow(rows[0] as BackfillRow) };
    });
  }

  async getBackfill(id: number): Promise<BackfillRecord | undefined> {
    const { rows } = await this.query<BackfillRow>('getBackfill', backfillSql.getBackfill, [id]);
    return rows[0] === undefined ? undefined : backfillFromRow(rows[0]);
  }

  async listBackfills(query: ListBackfillsQuery = {}): Promise<BackfillRecord[]> {
    const { limit, offset } = pageOf(query);
    const { rows } = await this.query<BackfillRow>('listBackfills', backfillSql.listBackfills, [query.taskId ?? null, query.status ?? null, limit, offset]);
    return rows.map(backfillFromRow);
  }

  async activeBackfills(): Promise<number[]> {
    return (await this.query<{ id: number }>('activeBackfills', backfillSql.activeBackfills, [])).rows.map((r) => r.id);
  }

  async backfillProgress(id: number, maxAttempts: number): Promise<BackfillProgress | undefined> {
    type ProgressRow = BackfillRow & { running_runs: number; last_counts: { status: string; n: number }[]; reruns: { slot: number; attempt: number }[] };
    const row = (await this.query<ProgressRow>('backfillProgress', backfillSql.backfillProgress, [id, maxAttempts])).rows[0];
    if (row === undefined) return undefined;
    return { backfill: backfillFromRow(row), running: row.running_runs, reruns: row.reruns, counts: backfillCountsFrom(row.slots, row.last_counts) };
  }

  async claimBackfillRuns(claim: BackfillClaim): Promise<RunRecord[] | undefined> {
    const key = this.sessionKey();
    // Session down: the claim would be refused anyway; the caller reads the progress again.
    if (key === undefined) return undefined;
    const { rows } = await this.query<{ [K in keyof RunRow]: RunRow[K] | null }>('claimBackfillRuns', backfillSql.claimBackfillRuns, [
      claim.backfillId, claim.taskId, claim.version, claim.nextSlot,
      claim.runs.map((r) => r.slot), claim.runs.map((r) => r.attempt),
      claim.owner, claim.nowMs, claim.leaseMs, key,
    ]);
    if (rows.length === 0) return undefined;
    return rows.filter((r) => r.id !== null).map((r) => runFromRow(r as RunRow)).sort((a, b) => a.id - b.id);
  }

  async endBackfill(id: number, end: BackfillEnd): Promise<BackfillRecord | undefined> {
    return this.transaction(async (query) => {
      const current = (await query<{ status: string; version: number; slots: number }>('lockBackfill', backfillSql.lockBackfill, [id])).rows[0];
      if (current === undefined) return undefined;
      const runs = (await query<{ running: number; last_counts: { status: string; n: number }[] }>('backfillRunsForEnd', backfillSql.backfillRunsForEnd, [id])).rows[0];
      const write = backfillEndWrite(current, runs?.running ?? 0, end);
      if (write === undefined) return undefined;
      const counts = write.freeze ? JSON.stringify(backfillCountsFrom(current.slots, runs?.last_counts ?? [])) : null;
      const { rows } = await query<BackfillRow>('endBackfill', backfillSql.endBackfill, [id, write.status, write.reason, write.finishedMs, counts]);
      return rows[0] === undefined ? undefined : backfillFromRow(rows[0]);
    });
  }

  async now(): Promise<number> {
    const { rows } = await this.query<{ now_ms: number }>('now', sql.now, []);
    return rows[0]?.now_ms ?? Number.NaN;
  }

  async watchTaskChanges(listener: (notice: TaskChangeNotice) => void): Promise<() => Promise<void>> {
    const { channel, instanceId, replicaLock, logger } = this.cluster;
    const unwatch = await watchTaskChanges({
      newClient: () => new pg.Client(connectionConfig(this.cluster)),
      channel,
      origin: instanceId,
      replicaLock,
      listener,
      ...(logger === undefined ? {} : { logger }),
    });
    return async () => {
      await unwatch();
      // Its watch lock is gone now: the others re-read the replicas at once and claim its tasks' next
      // slots ahead, instead of yielding to it until their next periodic read.
      await this.query('replicaLeft', sql.replicaLeft, [channel, instanceId]).catch((error: unknown) => {
        logger?.warn({ err: error }, 'telling the other replicas that this one stops claiming failed; they notice within a second');
      });
    };
  }

  sessionDownReason(): string | undefined {
    return this.session?.downReason();
  }

  async listTaskVersions(): Promise<TaskVersion[]> {
    const { rows } = await this.query<{ id: string; updated_ms: number; schedulable: boolean }>('listTaskVersions', sql.listTaskVersions, []);
    return rows.map((r) => ({ id: r.id, updatedMs: r.updated_ms, schedulable: r.schedulable }));
  }

  async liveReplicas(): Promise<string[]> {
    const { rows } = await this.query<{ name: string }>('liveReplicas', sql.liveReplicas, [...this.cluster.replicaLock]);
    return rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // The session last: until here this replica's runs count as alive, and its outcomes are written.
    await this.pool.end();
    await this.session?.close();
  }
}
