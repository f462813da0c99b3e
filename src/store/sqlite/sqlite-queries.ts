// The SQLite store's SQL, prepared once per connection. A query doing what a PostgreSQL query does has
// its name (postgres-queries.ts); the few SQLite-only helpers say what they are part of.

import type { Database, Statement } from 'better-sqlite3';
import { RUN_COLUMNS, TASK_COLUMNS } from '../rows.js';

/**
 * `?field=value` on top-level string fields. json_each walks the document's top-level members, so the
 * field name is a bound value compared with `key`: no JSON path is built from user text at all.
 */
/** A run of a backfill still active: its backfill counts it, so retention leaves it alone until it ends. */
const HELD_BY_BACKFILL = `(backfill_id IS NOT NULL AND backfill_id IN (SELECT id FROM backfills WHERE status IN ('running', 'cancelling')))`;

const FIELD_EQUALS = `EXISTS (SELECT 1 FROM json_each(tasks.doc) AS f WHERE f.key = ? AND f.type = 'text' AND f.value = ?)`;

/** Statements of listTasks are kept for 0 to this many filters; more filters prepare one per call. */
export const MAX_CACHED_FILTER_COUNT = 16;

export function prepareQueries(db: Database) {
  const filtered = new Map<number, Statement>();
  return {
    /** Part of putTask: SQLite's RETURNING cannot tell an insert from an update, so it asks first. */
    taskExists: db.prepare('SELECT 1 FROM tasks WHERE id = ?').pluck(),
    // seq is left alone on conflict: a replaced task keeps its place in the creation order.
    putTask: db.prepare(`
      INSERT INTO tasks (id, seq, doc, running, init_ms, end_ms, interval_ms, cron, timezone, created_ms, updated_ms)
      VALUES (@id, COALESCE((SELECT MAX(seq) FROM tasks), 0) + 1, @doc, @running, @initMs, @endMs, @intervalMs, @cron, @timezone, @createdMs, @updatedMs)
      ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, running = excluded.running, init_ms = excluded.init_ms,
        end_ms = excluded.end_ms, interval_ms = excluded.interval_ms, cron = excluded.cron, timezone = excluded.timezone,
        created_ms = excluded.created_ms, updated_ms = excluded.updated_ms`),
    getTask: db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`),
    listTaskVersions: db.prepare('SELECT id, updated_ms, (running = 1 AND (interval_ms IS NOT NULL OR cron IS NOT NULL)) AS schedulable FROM tasks'),
    countTasks: db.prepare('SELECT COUNT(*) AS total, COALESCE(SUM(running), 0) AS running FROM tasks'),
    deleteTask: db.prepare('DELETE FROM tasks WHERE id = ?'),
    deleteEndedTask: db.prepare('DELETE FROM tasks WHERE id = ? AND running = 1 AND end_ms IS NOT NULL AND end_ms <= ?'),
    /** Tasks in creation order, with `filters` equality filters; LIMIT -1 is SQLite's "no limit". */
    listTasks(filters: number): Statement {
      let statement = filtered.get(filters);
      if (statement === undefined) {
        const where = filters === 0 ? '' : `WHERE ${Array.from({ length: filters }, () => FIELD_EQUALS).join(' AND ')}`;
        statement = db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks ${where} ORDER BY seq LIMIT ? OFFSET ?`);
        // Kept for the common counts only: each kept statement costs memory for the connection's life,
        // and a client choosing a new count per request would otherwise grow it without bound.
        if (filters <= MAX_CACHED_FILTER_COUNT) filtered.set(filters, statement);
      }
      return statement;
    },

    // One row per execution: the store runs it for every slot of a batch inside one transaction. The
    // conflict target names runs_claim's WHERE: a backfill's run of the slot (its own key) is no claim.
    claimSlots: db.prepare(`
      INSERT INTO runs (task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, lateness_ms, lease_until_ms)
      VALUES (@taskId, @slot, 1, 'schedule', 'running', @owner, @nowMs, @nowMs, @nowMs - @slot, @nowMs + @leaseMs)
      ON CONFLICT (task_id, slot_ms, attempt) WHERE backfill_id IS NULL DO NOTHING
      RETURNING ${RUN_COLUMNS}`),
    insertRun: db.prepare(`
      INSERT INTO runs (task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, finished_ms, lateness_ms, logs, lease_until_ms)
      VALUES (@taskId, @slot, @attempt, @trigger, @status, @owner, @nowMs, @startedMs, @finishedMs,
        CASE WHEN @startedMs IS NULL OR @slot IS NULL THEN NULL ELSE @startedMs - @slot END, @logs, @leaseUntilMs)
      ON CONFLICT (task_id, slot_ms, attempt) WHERE backfill_id IS NULL DO NOTHING
      RETURNING ${RUN_COLUMNS}`),
    finishRun: db.prepare(`
      UPDATE runs SET status = @status, result = @result, error = @error, logs = @logs, queued_ms = @queuedMs, started_ms = @startedMs,
        finished_ms = @finishedMs, duration_ms = @finishedMs - @startedMs,
        lateness_ms = CASE WHEN slot_ms IS NULL THEN NULL ELSE @startedMs - slot_ms END,
        script_url = @scriptUrl, script_sha256 = @scriptSha256, lease_until_ms = NULL
      WHERE id = @id AND status = 'running'
      RETURNING ${RUN_COLUMNS}`),
    abandonRun: db.prepare(`
      UPDATE runs SET status = @status, error = @error, finished_ms = @nowMs,
        duration_ms = CASE WHEN started_ms IS NULL THEN NULL ELSE @nowMs - started_ms END, lease_until_ms = NULL
      WHERE id = @id AND status = 'running'
      RETURNING ${RUN_COLUMNS}`),
    // The ids travel as one JSON array: one prepared statement for any number of them.
    renewLeases: db.prepare(`
      UPDATE runs SET lease_until_ms = @untilMs
      WHERE status = 'running' AND owner = @owner AND id IN (SELECT value FROM json_each(@ids))`),
    expireLeases: db.prepare(`
      UPDATE runs SET status = 'lost', error = @error, finished_ms = @nowMs,
        duration_ms = CASE WHEN started_ms IS NULL THEN NULL ELSE @nowMs - started_ms END, lease_until_ms = NULL
      WHERE status = 'running' AND lease_until_ms < @nowMs
      RETURNING ${RUN_COLUMNS}`),

    // Backfill runs are left out of the live schedule's reads: catch-up and the overlap check of a slot.
    latestSlots: db.prepare('SELECT task_id, MAX(slot_ms) AS slot_ms FROM runs WHERE slot_ms IS NOT NULL AND backfill_id IS NULL GROUP BY task_id'),
    runningRuns: db.prepare(`
      SELECT ${RUN_COLUMNS} FROM runs
      WHERE task_id IN (SELECT value FROM json_each(@ids)) AND status = 'running' AND backfill_id IS NULL ORDER BY id`),
    // Ranks count finished runs only: a running run, or one of an active backfill, is never dropped and
    // does not push a finished one out.
    trimRuns: db.prepare(`
      DELETE FROM runs WHERE status <> 'running' AND NOT ${HELD_BY_BACKFILL} AND (
        (@olderThanMs IS NOT NULL AND finished_ms < @olderThanMs)
        OR (@keepPerTask > 0 AND id IN (
          SELECT id FROM (
            SELECT id, ROW_NUMBER() OVER (PARTITION BY task_id ORDER BY id DESC) AS rank
            FROM runs WHERE status <> 'running' AND NOT ${HELD_BY_BACKFILL}
          ) WHERE rank > @keepPerTask)))`),

    getRun: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
    listRuns: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE task_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`),
    // The three parts of runStats, read in one transaction (PostgreSQL has them in one statement). The
    // failure streak is the live schedule's: backfill runs neither count nor break it (nor in failuresBefore).
    runStatsLastRun: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE task_id = ? AND status <> 'running' ORDER BY id DESC LIMIT 1`),
    runStatsCounts: db.prepare('SELECT status, COUNT(*) AS n FROM runs WHERE task_id = ? GROUP BY status'),
    runStatsFailures: db.prepare(`
      SELECT COUNT(*) FROM runs
      WHERE task_id = @taskId AND status IN ('failed', 'timed_out') AND backfill_id IS NULL
        AND id > COALESCE((SELECT MAX(id) FROM runs WHERE task_id = @taskId AND status = 'succeeded' AND backfill_id IS NULL), 0)`).pluck(),
    failuresBefore: db.prepare(`
      SELECT COUNT(*) FROM runs
      WHERE task_id = @taskId AND status IN ('failed', 'timed_out') AND id < @runId AND backfill_id IS NULL
        AND id > COALESCE((SELECT MAX(id) FROM runs WHERE task_id = @taskId AND status = 'succeeded' AND id < @runId AND backfill_id IS NULL), 0)`).pluck(),
  };
}

export type SqliteQueries = ReturnType<typeof prepareQueries>;
