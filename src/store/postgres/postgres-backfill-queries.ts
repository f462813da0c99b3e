// The PostgreSQL store's backfill SQL. Each query has its namesake in sqlite-backfill-queries.ts; the
// parts of one operation say which. Values are always parameters.

import { BACKFILL_COLUMNS, RUN_COLUMNS } from '../rows.js';
import { LIVE_SESSIONS, OWNER_ALIVE, sessionHeld } from './postgres-queries.js';

const ACTIVE = `status IN ('running', 'cancelling')`;

/** Each slot's last attempt among the runs of backfill $1. */
const LAST_ATTEMPTS = `last AS (
  SELECT DISTINCT ON (slot_ms) slot_ms, attempt, status, error FROM runs WHERE backfill_id = $1 ORDER BY slot_ms, attempt DESC)`;

/** [{status, n}] of the slots by their last attempt (needs LAST_ATTEMPTS). */
const LAST_COUNTS = `(SELECT COALESCE(json_agg(json_build_object('status', status, 'n', n)), '[]')
  FROM (SELECT status, count(*)::int AS n FROM last GROUP BY status) c)`;

export const backfillSql = {
  /**
   * Part of createBackfill, first in its transaction: creates of one task queue here, so each one's
   * overlap check (a later statement, a later snapshot) sees what the one before it inserted.
   */
  lockTaskBackfills: `SELECT pg_advisory_xact_lock(hashtext('director:backfill:' || current_schema() || ':' || $1::text))`,
  overlappingBackfill: `
    SELECT ${BACKFILL_COLUMNS} FROM backfills
    WHERE task_id = $1 AND ${ACTIVE} AND from_ms < $3 AND $2 < to_ms ORDER BY id LIMIT 1`,
  insertBackfill: `
    INSERT INTO backfills (task_id, from_ms, to_ms, schedule, slots, concurrency, status, next_slot_ms, version, requested_by, created_ms)
    VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, 0, $8, $9)
    RETURNING ${BACKFILL_COLUMNS}`,
  getBackfill: `SELECT ${BACKFILL_COLUMNS} FROM backfills WHERE id = $1`,
  listBackfills: `
    SELECT ${BACKFILL_COLUMNS} FROM backfills
    WHERE ($1::text IS NULL OR task_id = $1) AND ($2::text IS NULL OR status = $2)
    ORDER BY id DESC LIMIT $3::bigint OFFSET $4::bigint`,
  activeBackfills: `SELECT id FROM backfills WHERE ${ACTIVE} ORDER BY id`,

  // One statement, so one snapshot. Its running runs are counted as runningRuns counts them: a run of a
  // replica whose session ended is going no more (it frees its place at once), though endBackfill waits
  // for the sweep that declares it lost. Re-runs: last attempt lost or killed at shutdown, attempts left ($2).
  backfillProgress: `
    WITH ${LIVE_SESSIONS}, ${LAST_ATTEMPTS}
    SELECT ${BACKFILL_COLUMNS},
      (SELECT count(*)::int FROM runs WHERE backfill_id = $1 AND status = 'running' AND ${OWNER_ALIVE}) AS running_runs,
      ${LAST_COUNTS} AS last_counts,
      (SELECT COALESCE(json_agg(json_build_object('slot', slot_ms, 'attempt', attempt + 1) ORDER BY slot_ms), '[]') FROM last
        WHERE (status = 'lost' OR (status = 'failed' AND error::json ->> 'stage' = 'shutdown')) AND attempt < $2) AS reruns
    FROM backfills WHERE id = $1`,

  // One statement: the compare-and-set on the version, then the runs, only when it matched. Its row lock
  // makes a concurrent claim wait and then find the version moved. A replica whose session has ended
  // claims nothing ($10, as claimSlots), and the runs carry its session key. No row: no claim; one row of
  // NULLs: a claim that inserted nothing (every run already there).
  claimBackfillRuns: `
    WITH claimed AS (
      UPDATE backfills SET version = version + 1, next_slot_ms = $4
      WHERE id = $1 AND task_id = $2 AND status = 'running' AND version = $3 AND ${sessionHeld(10)}
      RETURNING id
    ), inserted AS (
      INSERT INTO runs (task_id, slot_ms, attempt, "trigger", backfill_id, status, owner, created_ms, started_ms, lateness_ms, lease_until_ms, owner_session)
      SELECT $2, r.slot_ms, r.attempt, 'backfill', c.id, 'running', $7, $8::bigint, $8::bigint, $8::bigint - r.slot_ms, $8::bigint + $9::bigint, $10::bigint
      FROM claimed c CROSS JOIN unnest($5::bigint[], $6::int[]) AS r(slot_ms, attempt)
      ON CONFLICT (backfill_id, slot_ms, attempt) WHERE backfill_id IS NOT NULL DO NOTHING
      RETURNING ${RUN_COLUMNS}
    )
    SELECT inserted.* FROM claimed LEFT JOIN inserted ON true`,

  /** Part of endBackfill, first in its transaction: the row lock keeps claims and other ends out until it commits. */
  lockBackfill: 'SELECT status, version, slots FROM backfills WHERE id = $1 FOR UPDATE',
  /**
   * Part of endBackfill, after the lock: a new statement, so a snapshot that has every claim made before
   * the lock. Running counts every run still marked running (a dead replica's too, until its sweep).
   */
  backfillRunsForEnd: `
    WITH ${LAST_ATTEMPTS}
    SELECT (SELECT count(*)::int FROM runs WHERE backfill_id = $1 AND status = 'running') AS running, ${LAST_COUNTS} AS last_counts`,
  /** Part of endBackfill, once it decided (backfill-end.ts); a NULL reason keeps the one it has. */
  endBackfill: `
    UPDATE backfills SET status = $2, reason = COALESCE($3, reason), finished_ms = $4, counts = $5
    WHERE id = $1
    RETURNING ${BACKFILL_COLUMNS}`,
} as const;
