// PostgreSQL store: the shared contract in a schema of its own, plus replicas racing on migrations.
// Needs PostgreSQL (CI starts it); DIRECTOR_TEST_DATABASE_URL overrides the local default.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { redactUrl } from '../../lib/logger.js';
import { describeStoreContract } from '../store.contract.js';
import { migratePostgres, postgresMigrations } from './migrations.js';
import { openPostgresStore } from './postgres-store.js';

const url = process.env.DIRECTOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemaPrefix = `director_test_${process.pid}_${randomBytes(3).toString('hex')}`;
const schemas: string[] = [];
function freshSchema(label: string): string {
  const schema = `${schemaPrefix}_${label}`;
  schemas.push(schema);
  return schema;
}

async function admin<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

before(async () => {
  // Fail loudly, never skip: a missing database must not look like a passing suite.
  try {
    await admin((client) => client.query('SELECT 1'));
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${redactUrl(url)} (${(error as Error).message}). ` +
        'Start it (CI: .ci/run does) or point DIRECTOR_TEST_DATABASE_URL at one; these tests do not skip.',
    );
  }
});

after(async () => {
  await admin(async (client) => {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  });
});

const contractSchema = freshSchema('contract');
describeStoreContract('postgres', () => openPostgresStore({ url, schema: contractSchema }));

describe('PostgreSQL store', () => {
  it('two stores racing on migrations of an empty schema both open successfully and migrations ran once', async () => {
    const schema = freshSchema('race');
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore({ url, schema, maxConnections: 2 })));
    try {
      const rows = await admin(async (client) => (await client.query<{ version: number }>(`SELECT version FROM ${client.escapeIdentifier(schema)}.schema_migrations ORDER BY version`)).rows);
      assert.deepEqual(rows.map((r) => r.version), postgresMigrations.map((m) => m.version));
      for (const store of stores) assert.deepEqual(await store.countTasks(), { total: 0, running: 0 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('two stores on one schema never both claim a slot', async () => {
    const schema = freshSchema('claims');
    const [a, b] = await Promise.all([openPostgresStore({ url, schema }), openPostgresStore({ url, schema })]);
    assert.ok(a && b);
    try {
      const slots = Array.from({ length: 300 }, (_, k) => k * 1000);
      const claims = (owner: string, order: number[]) => order.map((slot) => ({ taskId: 'race', slot, owner, nowMs: 1, leaseMs: 1000 }));
      // Overlapping batches in opposite key orders: the store must neither double-claim nor deadlock.
      const results = await Promise.all([
        ...[0, 1, 2].map((i) => a.claimSlots(claims('a', slots.slice(i * 100, i * 100 + 150)))),
        ...[0, 1, 2].map((i) => b.claimSlots(claims('b', [...slots].reverse().slice(i * 100, i * 100 + 150)))),
      ]);
      const won = results.flat().map((r) => r.slot);
      assert.equal(won.length, slots.length);
      assert.equal(new Set(won).size, slots.length);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('runningRuns answers for several tasks at once what it answers task by task', async () => {
    const schema = freshSchema('running');
    const store = await openPostgresStore({ url, schema });
    try {
      const claim = (taskId: string, slot: number) => ({ taskId, slot, owner: 'a', nowMs: 1, leaseMs: 1000 });
      const won = await store.claimSlots([claim('x', 1), claim('x', 2), claim('y', 1), claim('z', 1)]);
      const done = won.find((r) => r.taskId === 'x' && r.slot === 2);
      await store.abandonRun(done!.id, 'lost', { stage: 'executor', name: 'LeaseExpired', message: 'gone' }, 5);
      const expected = [...(await store.runningRuns(['x'])), ...(await store.runningRuns(['y']))].sort((a, b) => a.id - b.id);
      assert.deepEqual(await store.runningRuns(['x', 'y', 'nothing']), expected);
      assert.deepEqual(expected.map((r) => `${r.taskId}@${r.slot}`), ['x@1', 'y@1']);
      assert.deepEqual(await store.runningRuns([]), []);
    } finally {
      await store.close();
    }
  });

  it("a backfill's runs carry their replica's session: once it ends they hold no place, and nothing ends over them until the sweep declares them lost", async () => {
    const schema = freshSchema('backfill_session');
    const instanceId = `bf-session-${randomBytes(3).toString('hex')}`;
    const [dying, other] = await Promise.all([
      openPostgresStore({ url, schema, instanceId, replicaSession: true }),
      openPostgresStore({ url, schema }),
    ]);
    try {
      const spec = { initMs: 0, endMs: null, intervalMs: 1000, cron: null };
      const created = await other.createBackfill({ taskId: 't', fromMs: 0, toMs: 2000, schedule: spec, slots: 2, firstSlot: 0, concurrency: 2, requestedBy: 'ops', nowMs: 5000 });
      assert.ok('created' in created);
      const claim = { backfillId: created.created.id, taskId: 't', version: 0, nextSlot: null, owner: instanceId, nowMs: 5000, leaseMs: 3_600_000 };
      const [run] = (await dying.claimBackfillRuns({ ...claim, runs: [{ slot: 0, attempt: 1 }] })) ?? [];
      assert.ok(run);
      assert.equal((await other.backfillProgress(created.created.id, 3))?.running, 1);
      await dying.close();

      const progress = await other.backfillProgress(created.created.id, 3);
      assert.equal(progress?.running, 0, 'its owner is gone: it holds no place');
      assert.equal(progress?.counts.running, 1, 'still marked running until the sweep');
      assert.deepEqual(progress?.reruns, []);
      assert.equal(await other.endBackfill(created.created.id, { status: 'completed', version: 1, nowMs: 6000 }), undefined);
      assert.deepEqual((await other.expireLeases(6000)).map((r) => [r.id, r.error?.name]), [[run.id, 'SessionEnded']]);
      assert.deepEqual((await other.backfillProgress(created.created.id, 3))?.reruns, [{ slot: 0, attempt: 2 }]);
    } finally {
      await Promise.all([dying.close(), other.close()]);
    }
  });

  it('keeps tables in its own schema, away from the default search_path', async () => {
    const schema = freshSchema('isolated');
    const store = await openPostgresStore({ url, schema });
    await store.close();
    const found = await admin(async (client) =>
      (await client.query<{ schemaname: string }>("SELECT schemaname FROM pg_tables WHERE tablename = 'tasks' AND schemaname = $1", [schema])).rows);
    assert.equal(found.length, 1);
  });

  it('a failing migration names itself and what to do, and leaves nothing of it applied', async () => {
    const schema = freshSchema('broken');
    const pool = new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${schema}` });
    try {
      const broken = [...postgresMigrations, { version: 99, name: 'broken', sql: 'CREATE TABLE half (x int); SELECT * FROM no_such_table' }];
      await assert.rejects(migratePostgres(pool, schema, broken), /PostgreSQL migration 99 \(broken\) failed: relation "no_such_table" does not exist\. Nothing of it was applied/);
      const tables = await pool.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1', [schema]);
      assert.deepEqual(tables.rows, [], 'the whole transaction rolled back, earlier migrations included');
      assert.deepEqual(await migratePostgres(pool, schema), postgresMigrations.map((m) => m.version));
      assert.deepEqual(await migratePostgres(pool, schema), [], 'a second run has nothing to do');
    } finally {
      await pool.end();
    }
  });

  it('migration 5 keeps runs and their claims, and lets a run be a backfill\'s exactly when it names one', async () => {
    const schema = freshSchema('migrate5');
    const pool = new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${schema}` });
    try {
      await migratePostgres(pool, schema, postgresMigrations.filter((m) => m.version <= 4));
      const insert = `INSERT INTO runs (task_id, slot_ms, attempt, "trigger", status, owner, created_ms) VALUES ($1, $2, 1, $3, 'succeeded', 'old', 1) RETURNING id`;
      await pool.query(insert, ['t', 60_000, 'schedule']);
      await pool.query(insert, ['t', null, 'manual']);
      const before = (await pool.query('SELECT * FROM runs ORDER BY id')).rows;
      assert.deepEqual(await migratePostgres(pool, schema), [5]);
      assert.deepEqual((await pool.query('SELECT * FROM runs ORDER BY id')).rows, before.map((row) => ({ ...row, backfill_id: null })));
      const constraints = await pool.query<{ conname: string }>("SELECT conname FROM pg_constraint WHERE conrelid = 'runs'::regclass AND contype = 'c' ORDER BY 1");
      assert.deepEqual(constraints.rows.map((r) => r.conname), ['runs_backfill_check', 'runs_status_check', 'runs_trigger_check']);
      await assert.rejects(pool.query(insert, ['t', 120_000, 'backfill']), /runs_backfill_check/);
      await assert.rejects(pool.query(insert, ['t', 60_000, 'schedule']), /runs_claim/);
      const backfillRun = `INSERT INTO runs (task_id, slot_ms, attempt, "trigger", backfill_id, status, owner, created_ms) VALUES ('t', 60000, 1, 'backfill', 1, 'running', 'new', 2)`;
      await pool.query(backfillRun);
      await assert.rejects(pool.query(backfillRun), /runs_backfill_claim/);
    } finally {
      await pool.end();
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await assert.rejects(openPostgresStore({ url, schema: 'x; DROP TABLE tasks' }), /schema "x; DROP TABLE tasks" is not accepted/);
  });

  it('says where and what to check when the server cannot be reached, without the password', async () => {
    const unreachable = 'postgres://director:s3cret@127.0.0.1:1/nowhere';
    await assert.rejects(openPostgresStore({ url: unreachable, connectTimeoutMs: 2000 }), (error: Error) => {
      assert.match(error.message, /PostgreSQL at postgres:\/\/director:\*\*\*@127\.0\.0\.1:1\/nowhere could not be reached: .*ECONNREFUSED/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });
});
