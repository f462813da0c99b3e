// Numbered SQLite migrations, applied at open inside one IMMEDIATE transaction per store.

import type { Database } from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Append only: never edit a migration that has shipped; add the next number instead. */
export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'tasks and runs',
    sql: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        doc TEXT NOT NULL,
        running INTEGER NOT NULL CHECK (running IN (0, 1)),
        init_ms INTEGER NOT NULL,
        end_ms INTEGER,
        interval_ms INTEGER,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX tasks_seq ON tasks (seq);

      CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        slot_ms INTEGER,
        attempt INTEGER NOT NULL,
        "trigger" TEXT NOT NULL CHECK ("trigger" IN ('schedule', 'manual', 'test')),
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'skipped', 'lost')),
        owner TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        started_ms INTEGER,
        finished_ms INTEGER,
        duration_ms INTEGER,
        lateness_ms INTEGER,
        result TEXT,
        error TEXT,
        logs TEXT,
        script_url TEXT,
        script_sha256 TEXT,
        lease_until_ms INTEGER
      ) STRICT;
      -- The claim: one row per (task, slot, attempt). NULL slots (manual runs) are distinct, so never collide.
      CREATE UNIQUE INDEX runs_claim ON runs (task_id, slot_ms, attempt);
      CREATE INDEX runs_task_newest ON runs (task_id, id DESC);
      -- Running runs are few; a partial index keeps lease sweeps and per-task checks off the history.
      CREATE INDEX runs_running ON runs (task_id, id) WHERE status = 'running';
    `,
  },
  {
    version: 2,
    name: 'the instant a run was queued',
    // started_ms now holds when main() was entered (reported by the executor); queued_ms when the run was
    // handed to execution. Their difference is the queue wait, shown apart from lateness.
    sql: `ALTER TABLE runs ADD COLUMN queued_ms INTEGER;`,
  },
  {
    version: 3,
    name: 'cron schedules',
    // A task's cron expression and IANA time zone, instead of interval_ms (issue #17). NULL: no cron.
    sql: `ALTER TABLE tasks ADD COLUMN cron TEXT; ALTER TABLE tasks ADD COLUMN timezone TEXT;`,
  },
  {
    version: 4,
    name: 'backfills',
    // Backfills (issue #17), and runs that belong to one. A STRICT table's CHECK cannot be altered, so
    // runs is rebuilt (ids kept) with the 'backfill' trigger and its backfill_id. The claim key splits in
    // two: a backfill run of a slot sits beside the slot's scheduled run instead of colliding with it.
    // No foreign keys: runs and backfills outlive their task, as runs always did.
    sql: `
      CREATE TABLE backfills (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        from_ms INTEGER NOT NULL,
        to_ms INTEGER NOT NULL,
        schedule TEXT NOT NULL,
        slots INTEGER NOT NULL,
        concurrency INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'cancelling', 'completed', 'cancelled')),
        next_slot_ms INTEGER,
        version INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        reason TEXT,
        created_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        counts TEXT
      ) STRICT;
      -- Active ones are few: the overlap check of a new backfill and the driver's work list read these.
      CREATE INDEX backfills_active ON backfills (task_id, id) WHERE status IN ('running', 'cancelling');
      CREATE INDEX backfills_task_newest ON backfills (task_id, id DESC);

      CREATE TABLE runs_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        slot_ms INTEGER,
        attempt INTEGER NOT NULL,
        "trigger" TEXT NOT NULL CHECK ("trigger" IN ('schedule', 'manual', 'test', 'backfill')),
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'skipped', 'lost')),
        owner TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        started_ms INTEGER,
        finished_ms INTEGER,
        duration_ms INTEGER,
        lateness_ms INTEGER,
        result TEXT,
        error TEXT,
        logs TEXT,
        script_url TEXT,
        script_sha256 TEXT,
        lease_until_ms INTEGER,
        queued_ms INTEGER,
        backfill_id INTEGER,
        CHECK (("trigger" = 'backfill') = (backfill_id IS NOT NULL))
      ) STRICT;
      -- The id sequence carries over, not just the ids: an id of a trimmed run is never handed out again.
      INSERT INTO sqlite_sequence (name, seq) SELECT 'runs_new', seq FROM sqlite_sequence WHERE name = 'runs';
      INSERT INTO runs_new (id, task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, finished_ms,
          duration_ms, lateness_ms, result, error, logs, script_url, script_sha256, lease_until_ms, queued_ms)
        SELECT id, task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, finished_ms,
          duration_ms, lateness_ms, result, error, logs, script_url, script_sha256, lease_until_ms, queued_ms FROM runs;
      DROP TABLE runs;
      ALTER TABLE runs_new RENAME TO runs;
      -- The claim of a scheduled slot: one row per (task, slot, attempt). NULL slots (manual runs) are
      -- distinct, so never collide. Its WHERE must be named by every ON CONFLICT that means it.
      CREATE UNIQUE INDEX runs_claim ON runs (task_id, slot_ms, attempt) WHERE backfill_id IS NULL;
      -- The claim of a backfill's slot; it also finds a backfill's runs.
      CREATE UNIQUE INDEX runs_backfill_claim ON runs (backfill_id, slot_ms, attempt) WHERE backfill_id IS NOT NULL;
      CREATE INDEX runs_task_newest ON runs (task_id, id DESC);
      CREATE INDEX runs_running ON runs (task_id, id) WHERE status = 'running';
    `,
  },
];

/**
 * Applies the missing migrations. BEGIN IMMEDIATE takes the write lock before reading what is applied,
 * so a second process opening the same file waits (busy_timeout) and then finds nothing left to do.
 */
export function migrateSqlite(db: Database, migrations: readonly Migration[] = sqliteMigrations): number[] {
  const apply = db.transaction((): number[] => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL) STRICT');
    const rows = db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[];
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)');
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      try {
        db.exec(migration.sql);
      } catch (error) {
        throw new Error(
          `SQLite migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}. ` +
            'Nothing of it was applied (it runs in a transaction). Fix the cause — a full disk, a read-only data folder, ' +
            'or a database written by a newer Director — and start again; migrations resume from this number.',
          { cause: error },
        );
      }
      record.run(migration.version, migration.name, Date.now());
      applied.push(migration.version);
    }
    return applied;
  });
  return apply.immediate();
}
