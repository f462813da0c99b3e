// Numbered PostgreSQL migrations, applied at open under an advisory lock so replicas take turns.

import type { Pool } from 'pg';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Append only: never edit a migration that has shipped; add the next number instead. */
export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'tasks and runs',
    sql: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        -- TEXT, not JSONB: the client's document is returned byte for byte, key order included.
        doc TEXT NOT NULL,
        running BOOLEAN NOT NULL,
        init_ms BIGINT NOT NULL,
        end_ms BIGINT,
        interval_ms BIGINT,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL
      );

      CREATE TABLE runs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id TEXT NOT NULL,
        slot_ms BIGINT,
        attempt INTEGER NOT NULL,
        "trigger" TEXT NOT NULL CHECK ("trigger" IN ('schedule', 'manual', 'test')),
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'skipped', 'lost')),
        owner TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        started_ms BIGINT,
        finished_ms BIGINT,
        duration_ms BIGINT,
        lateness_ms BIGINT,
        result TEXT,
        error TEXT,
        logs TEXT,
        script_url TEXT,
        script_sha256 TEXT,
        lease_until_ms BIGINT
      );
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
    sql: `ALTER TABLE runs ADD COLUMN queued_ms BIGINT;`,
  },
  {
    version: 3,
    name: 'session of a run\'s owner',
    // The key of the advisory lock its owner's replica session holds (replica-session.ts): once no session
    // holds it, the run is lost at once. NULL (runs of replicas without a session): the lease decides.
    sql: 'ALTER TABLE runs ADD COLUMN owner_session BIGINT',
  },
  {
    version: 4,
    name: 'cron schedules',
    // A task's cron expression and IANA time zone, instead of interval_ms (issue #17). NULL: no cron.
    sql: 'ALTER TABLE tasks ADD COLUMN cron TEXT, ADD COLUMN timezone TEXT',
  },
  {
    version: 5,
    name: 'backfills',
    // Backfills (issue #17), and runs that belong to one. The claim key splits in two: a backfill run of
    // a slot sits beside the slot's scheduled run instead of colliding with it, so every ON CONFLICT on
    // runs_claim names its WHERE. runs_trigger_check is the name PostgreSQL gave migration 1's CHECK.
    // No foreign keys: runs and backfills outlive their task, as runs always did.
    sql: `
      CREATE TABLE backfills (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id TEXT NOT NULL,
        from_ms BIGINT NOT NULL,
        to_ms BIGINT NOT NULL,
        -- JSON text of the schedule snapshot (SlotSpec).
        schedule TEXT NOT NULL,
        slots INTEGER NOT NULL,
        concurrency INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'cancelling', 'completed', 'cancelled')),
        next_slot_ms BIGINT,
        version INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        reason TEXT,
        created_ms BIGINT NOT NULL,
        finished_ms BIGINT,
        -- JSON text of the counts, frozen when it ends; NULL while active.
        counts TEXT
      );
      -- Active ones are few: the overlap check of a new backfill and the driver's work list read these.
      CREATE INDEX backfills_active ON backfills (task_id, id) WHERE status IN ('running', 'cancelling');
      CREATE INDEX backfills_task_newest ON backfills (task_id, id DESC);

      ALTER TABLE runs ADD COLUMN backfill_id BIGINT;
      ALTER TABLE runs DROP CONSTRAINT runs_trigger_check;
      ALTER TABLE runs ADD CONSTRAINT runs_trigger_check CHECK ("trigger" IN ('schedule', 'manual', 'test', 'backfill'));
      ALTER TABLE runs ADD CONSTRAINT runs_backfill_check CHECK (("trigger" = 'backfill') = (backfill_id IS NOT NULL));
      DROP INDEX runs_claim;
      CREATE UNIQUE INDEX runs_claim ON runs (task_id, slot_ms, attempt) WHERE backfill_id IS NULL;
      -- The claim of a backfill's slot; it also finds a backfill's runs.
      CREATE UNIQUE INDEX runs_backfill_claim ON runs (backfill_id, slot_ms, attempt) WHERE backfill_id IS NOT NULL;
    `,
  },
];

/** Schema names are interpolated into DDL and the search_path, so only plain lowercase identifiers pass. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Applies the missing migrations in one transaction. The advisory lock comes first: replicas starting
 * together queue on it, and each later one finds the versions recorded and has nothing left to do.
 * Returns the versions this call applied.
 */
export async function migratePostgres(pool: Pool, schema: string | null, migrations: readonly Migration[] = postgresMigrations): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`director:migrations:${schema ?? ''}`]);
    if (schema !== null) await client.query(`CREATE SCHEMA IF NOT EXISTS ${client.escapeIdentifier(schema)}`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      try {
        await client.query(migration.sql);
      } catch (error) {
        throw new Error(
          `PostgreSQL migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}. ` +
            'Nothing of it was applied (it runs in a transaction; other replicas waited for it). Fix the cause — ' +
            'often a database user without CREATE rights on the schema, or tables left by another program — ' +
            'then start Director again; migrations resume from this number.',
          { cause: error },
        );
      }
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof Error && error.message.startsWith('PostgreSQL migration ')) throw error;
    throw new Error(
      `PostgreSQL migrations could not run${schema === null ? '' : ` in schema "${schema}"`}: ${(error as Error).message}. ` +
        'Nothing was applied. Check that the database user may create schemas and tables there, then start Director again.',
      { cause: error },
    );
  } finally {
    client.release();
  }
}
