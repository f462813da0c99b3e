// The SQLite store's backfill SQL, prepared once per connection. Each query has its namesake in
// postgres-backfill-queries.ts; the parts of one operation say which.

import type { Database } from 'better-sqlite3';
import { backfillCountsFrom, backfillFromRow, BACKFILL_COLUMNS, RUN_COLUMNS, type BackfillRow } from '../rows.js';
import type { BackfillProgress } from '../store.js';

const ACTIVE = `status IN ('running', 'cancelling')`;

/** Each slot's last attempt among the runs of backfill @id. */
const LAST_ATTEMPTS = `last AS (
  SELECT slot_ms, attempt, status, error FROM (
    SELECT slot_ms, attempt, status, error, ROW_NUMBER() OVER (PARTITION BY slot_ms ORDER BY attempt DESC) AS rank
    FROM runs WHERE backfill_id = @id)
  WHERE rank = 1)`;

export function prepareBackfillQueries(db: Database) {
  const q = {
    /** Part of createBackfill: the oldest active backfill of the task whose range meets [from, to). */
    overlappingBackfill: db.prepare(`
      SELECT ${BACKFILL_COLUMNS} FROM backfills
      WHERE task_id = @taskId AND ${ACTIVE} AND from_ms < @toMs AND @fromMs < to_ms ORDER BY id LIMIT 1`),
    insertBackfill: db.prepare(`
      INSERT INTO backfills (task_id, from_ms, to_ms, schedule, slots, concurrency, status, next_slot_ms, version, requested_by, created_ms)
      VALUES (@taskId, @fromMs, @toMs, @schedule, @slots, @concurrency, 'running', @firstSlot, 0, @requestedBy, @nowMs)
      RETURNING ${BACKFILL_COLUMNS}`),
    getBackfill: db.prepare(`SELECT ${BACKFILL_COLUMNS} FROM backfills WHERE id = ?`),
    // LIMIT -1 is SQLite's "no limit".
    listBackfills: db.prepare(`
      SELECT ${BACKFILL_COLUMNS} FROM backfills
      WHERE (@taskId IS NULL OR task_id = @taskId) AND (@status IS NULL OR status = @status)
      ORDER BY id DESC LIMIT @limit OFFSET @offset`),
    activeBackfills: db.prepare(`SELECT id FROM backfills WHERE ${ACTIVE} ORDER BY id`).pluck(),

    /** Parts of backfillProgress and endBackfill: its runs still running, and its slots by their last attempt. */
    backfillRunning: db.prepare(`SELECT COUNT(*) FROM runs WHERE backfill_id = ? AND status = 'running'`).pluck(),
    backfillCounts: db.prepare(`WITH ${LAST_ATTEMPTS} SELECT status, COUNT(*) AS n FROM last GROUP BY status`),
    /** Part of backfillProgress: slots whose last attempt was lost or killed at shutdown, with attempts left. */
    backfillReruns: db.prepare(`
      WITH ${LAST_ATTEMPTS}
      SELECT slot_ms AS slot, attempt + 1 AS attempt FROM last
      WHERE (status = 'lost' OR (status = 'failed' AND json_extract(error, '$.stage') = 'shutdown')) AND attempt < @maxAttempts
      ORDER BY slot_ms`),

    /** Part of claimBackfillRuns: the compare-and-set on its version; no row changed, no claim. */
    claimBackfill: db.prepare(`
      UPDATE backfills SET version = version + 1, next_slot_ms = @nextSlot
      WHERE id = @backfillId AND task_id = @taskId AND status = 'running' AND version = @version`),
    /** Part of claimBackfillRuns, once per run: the backfill's own claim key, beside the slot's scheduled run. */
    claimBackfillRun: db.prepare(`
      INSERT INTO runs (task_id, slot_ms, attempt, "trigger", backfill_id, status, owner, created_ms, started_ms, lateness_ms, lease_until_ms)
      VALUES (@taskId, @slot, @attempt, 'backfill', @backfillId, 'running', @owner, @nowMs, @nowMs, @nowMs - @slot, @nowMs + @leaseMs)
      ON CONFLICT (backfill_id, slot_ms, attempt) WHERE backfill_id IS NOT NULL DO NOTHING
      RETURNING ${RUN_COLUMNS}`),
    /** Part of endBackfill, once it decided (backfill-end.ts); a NULL reason keeps the one it has. */
    endBackfill: db.prepare(`
      UPDATE backfills SET status = @status, reason = COALESCE(@reason, reason), finished_ms = @finishedMs, counts = @counts
      WHERE id = @id
      RETURNING ${BACKFILL_COLUMNS}`),
  };
  return {
    ...q,
    /** One read transaction: the row, its running runs and its slots' last attempts from one snapshot. */
    backfillProgress: db.transaction((id: number, maxAttempts: number): BackfillProgress | undefined => {
      const row = q.getBackfill.get(id) as BackfillRow | undefined;
      if (row === undefined) return undefined;
      return {
        backfill: backfillFromRow(row),
        running: q.backfillRunning.get(id) as number,
        reruns: q.backfillReruns.all({ id, maxAttempts }) as { slot: number; attempt: number }[],
        counts: backfillCountsFrom(row.slots, q.backfillCounts.all({ id }) as { status: string; n: number }[]),
      };
    }),
  };
}

export type SqliteBackfillQueries = ReturnType<typeof prepareBackfillQueries>;
