// The PostgreSQL store's SQL. A query doing what a SQLite query does has its name (sqlite-queries.ts);
// values are always parameters.

import { RUN_COLUMNS, TASK_COLUMNS } from '../rows.js';

/** pg_notify of a task write; `$n` is the channel and `$n+1` the writing replica's instance id. */
function notify(id: string, change: string, n: number): string {
  return `pg_notify($${n}, json_build_object('id', ${id}, 'change', ${change}, 'origin', $${n + 1}::text)::text) AS notified`;
}

/**
 * Keys of the replica sessions alive right now (replica-session.ts): exclusive bigint advisory locks
 * (objsubid 1) granted in this database. pg_locks is read live, not from a snapshot, so a session that
 * ended a moment ago is already missing. Materialised: read once per statement, not once per row.
 */
export const LIVE_SESSIONS = `live_sessions AS MATERIALIZED (
    SELECT (l.classid::bigint << 32) | l.objid::bigint AS key FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;

/** Fencing: true when `$n` (this replica's session key) is NULL (no session) or its lock is held now. */
export function sessionHeld(n: number): string {
  return `($${n}::bigint IS NULL OR EXISTS (
    SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
      AND l.classid = ($${n}::bigint >> 32)::oid AND l.objid = ($${n}::bigint & 4294967295)::oid
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())))`;
}

/** A running run counts as going only while its owner's session lives (or it has none: lease only). */
export const OWNER_ALIVE = '(owner_session IS NULL OR owner_session IN (SELECT key FROM live_sessions))';

/** A run of a backfill still active: its backfill counts it, so retention leaves it alone until it ends. */
const HELD_BY_BACKFILL = `(backfill_id IS NOT NULL AND backfill_id IN (SELECT id FROM backfills WHERE status IN ('running', 'cancelling')))`;

/** Tasks in creation order; each filter is a bound (field, value) pair, and a NULL limit means all. */
export function listTasksSql(filters: number): string {
  // jsonb `->` takes the field name as a value, so no JSON path is built from user text; comparing
  // with to_jsonb(text) matches string members only, never a number or boolean that prints the same.
  const where = Array.from({ length: filters }, (_, i) => `(doc::jsonb -> $${2 * i + 1}::text) = to_jsonb($${2 * i + 2}::text)`);
  const limit = 2 * filters + 1;
  return `SELECT ${TASK_COLUMNS} FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY seq LIMIT $${limit}::bigint OFFSET $${limit + 1}::bigint`;
}

export const sql = {
  // xmax is 0 only on a freshly inserted row version: it tells an insert from an update in one statement.
  // Writes of tasks notify in the same statement, so in the same transaction: a write that rolls back
  // never announces itself, and one that commits always does ($9 channel, $10 this replica).
  putTask: `
    WITH put AS (
      INSERT INTO tasks (id, doc, running, init_ms, end_ms, interval_ms, cron, timezone, created_ms, updated_ms)
      VALUES ($1, $2, $3, $4, $5, $6, $11, $12, $7, $8)
      ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, running = EXCLUDED.running, init_ms = EXCLUDED.init_ms,
        end_ms = EXCLUDED.end_ms, interval_ms = EXCLUDED.interval_ms, cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, created_ms = EXCLUDED.created_ms, updated_ms = EXCLUDED.updated_ms
      RETURNING id, (xmax = 0) AS created)
    SELECT created, ${notify('id', "CASE WHEN created THEN 'created' ELSE 'replaced' END", 9)} FROM put`,
  getTask: `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1`,
  listTaskVersions: 'SELECT id, updated_ms, (running AND (interval_ms IS NOT NULL OR cron IS NOT NULL)) AS schedulable FROM tasks',
  countTasks: 'SELECT count(*) AS total, count(*) FILTER (WHERE running) AS running FROM tasks',
  deleteTask: `WITH gone AS (DELETE FROM tasks WHERE id = $1 RETURNING id) SELECT ${notify('id', "'deleted'", 2)} FROM gone`,
  deleteEndedTask: `
    WITH gone AS (DELETE FROM tasks WHERE id = $1 AND running AND end_ms IS NOT NULL AND end_ms <= $2 RETURNING id)
    SELECT ${notify('id', "'ended'", 3)} FROM gone`,

  // One round trip for the whole batch. ORDER BY makes every replica insert in the same key order, so
  // two batches that overlap wait for each other instead of deadlocking. $6 is the claiming replica's
  // session key: a replica whose session has ended (its runs are being declared lost) wins nothing. The
  // conflict target names runs_claim's WHERE: a backfill's run of the slot (its own key) is no claim.
  claimSlots: `
    INSERT INTO runs (task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, lateness_ms, lease_until_ms, owner_session)
    SELECT c.task_id, c.slot_ms, 1, 'schedule', 'running', c.owner, c.now_ms, c.now_ms, c.now_ms - c.slot_ms, c.now_ms + c.lease_ms, $6::bigint
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS c(task_id, slot_ms, owner, now_ms, lease_ms)
    WHERE ${sessionHeld(6)}
    ORDER BY c.task_id, c.slot_ms
    ON CONFLICT (task_id, slot_ms, attempt) WHERE backfill_id IS NULL DO NOTHING
    RETURNING ${RUN_COLUMNS}`,
  // A skipped run never runs, so it needs no live session; a running one does ($12), as a claim.
  insertRun: `
    INSERT INTO runs (task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, finished_ms, lateness_ms, logs, lease_until_ms, owner_session)
    SELECT $1, $2::bigint, $3, $4, $5, $6, $7, $8::bigint, $9::bigint, $8::bigint - $2::bigint, $10, $11::bigint, $12::bigint
    WHERE $5 = 'skipped' OR ${sessionHeld(12)}
    ON CONFLICT (task_id, slot_ms, attempt) WHERE backfill_id IS NULL DO NOTHING
    RETURNING ${RUN_COLUMNS}`,
  // Fencing ($10, this replica's name when it holds a session): an outcome is written only while the
  // run is still running and ours; a run another replica declared lost keeps that verdict.
  finishRun: `
    UPDATE runs SET status = $2, result = $3, error = $4, logs = $5, started_ms = $6, finished_ms = $7,
      duration_ms = $7::bigint - $6::bigint, lateness_ms = $6::bigint - slot_ms,
      script_url = $8, script_sha256 = $9, queued_ms = $11, lease_until_ms = NULL
    WHERE id = $1 AND status = 'running' AND ($10::text IS NULL OR owner = $10::text)
    RETURNING ${RUN_COLUMNS}`,
  abandonRun: `
    UPDATE runs SET status = $2, error = $3, finished_ms = $4, duration_ms = $4::bigint - started_ms, lease_until_ms = NULL
    WHERE id = $1 AND status = 'running' AND ($5::text IS NULL OR owner = $5::text)
    RETURNING ${RUN_COLUMNS}`,
  renewLeases: `UPDATE runs SET lease_until_ms = $2 WHERE status = 'running' AND owner = $1 AND id = ANY($3::bigint[])`,
  // Lost: the lease ran out ($2 says so), or the owner's session has ended ($3) — a dead replica's runs
  // are found within one sweep of its death instead of one lease. One conditional update: two replicas
  // sweeping together report each run once.
  expireLeases: `
    WITH ${LIVE_SESSIONS}
    UPDATE runs SET status = 'lost', error = CASE WHEN lease_until_ms < $1 THEN $2 ELSE $3 END,
      finished_ms = $1, duration_ms = $1::bigint - started_ms, lease_until_ms = NULL
    WHERE status = 'running' AND (lease_until_ms < $1 OR NOT ${OWNER_ALIVE})
    RETURNING ${RUN_COLUMNS}`,

  // Backfill runs are left out of the live schedule's reads: catch-up and the overlap check of a slot.
  latestSlots: 'SELECT task_id, max(slot_ms) AS slot_ms FROM runs WHERE slot_ms IS NOT NULL AND backfill_id IS NULL GROUP BY task_id',
  // A run whose owner's session has ended is not going any more, even before a sweep records it lost:
  // the overlap check of the next slot must not wait for that sweep.
  runningRuns: `WITH ${LIVE_SESSIONS}
    SELECT ${RUN_COLUMNS} FROM runs
    WHERE task_id = ANY($1::text[]) AND status = 'running' AND backfill_id IS NULL AND ${OWNER_ALIVE} ORDER BY id`,
  // Ranks count finished runs only: a running run, or one of an active backfill, is never dropped and
  // does not push a finished one out.
  trimRuns: `
    DELETE FROM runs WHERE status <> 'running' AND NOT ${HELD_BY_BACKFILL} AND (
      ($2::bigint IS NOT NULL AND finished_ms < $2::bigint)
      OR ($1::int > 0 AND id IN (
        SELECT id FROM (
          SELECT id, row_number() OVER (PARTITION BY task_id ORDER BY id DESC) AS rank
          FROM runs WHERE status <> 'running' AND NOT ${HELD_BY_BACKFILL}
        ) ranked WHERE rank > $1::int)))`,

  // clock_timestamp(), not now(): now() is the start of the transaction, not the moment of the answer.
  now: 'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now_ms',
  // Replicas hold a shared advisory lock on their change-watch connection while it is up: the holders'
  // application_names are the replicas that claim, and a dead replica's entry ends with its connection.
  // A replica stopping gracefully closes it first (its running runs stay alive on its session).
  liveReplicas: `
    SELECT DISTINCT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.classid = $1::int::oid AND l.objid = $2::int::oid
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY 1`,

  replicaLeft: `SELECT pg_notify($1, json_build_object('replicas', 'left', 'origin', $2::text)::text) AS notified`,

  getRun: `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`,
  listRuns: `SELECT ${RUN_COLUMNS} FROM runs WHERE task_id = $1 ORDER BY id DESC LIMIT $2::bigint OFFSET $3::bigint`,
  // Failure streaks are the live schedule's: backfill runs neither count nor break them.
  failuresBefore: `
    SELECT count(*)::int AS n FROM runs
    WHERE task_id = $1 AND status IN ('failed', 'timed_out') AND id < $2 AND backfill_id IS NULL
      AND id > COALESCE((SELECT max(id) FROM runs WHERE task_id = $1 AND status = 'succeeded' AND id < $2 AND backfill_id IS NULL), 0)`,
  // One statement, so counts, streak and last run come from one snapshot in one round trip; the last
  // finished run's columns ride along (all NULL when the task has none). Counts and the last run are
  // history (backfill runs included); the streak is failuresBefore's.
  runStats: `
    SELECT
      (SELECT COALESCE(json_object_agg(status, n), '{}') FROM (SELECT status, count(*) AS n FROM runs WHERE task_id = $1 GROUP BY status) c) AS counts,
      (SELECT count(*) FROM runs WHERE task_id = $1 AND status IN ('failed', 'timed_out') AND backfill_id IS NULL
        AND id > COALESCE((SELECT max(id) FROM runs WHERE task_id = $1 AND status = 'succeeded' AND backfill_id IS NULL), 0)) AS failures,
      last.*
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
      SELECT ${RUN_COLUMNS} FROM runs WHERE task_id = $1 AND status <> 'running' ORDER BY id DESC LIMIT 1
    ) AS last ON true`,
} as const;
