// SQLite store: the shared contract on a real file, plus crash durability and multi-process races.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parseTask } from '../../domain/task.js';
import { describeStoreContract } from '../store.contract.js';
import { migrateSqlite, sqliteMigrations } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import { MAX_CACHED_FILTER_COUNT } from './sqlite-queries.js';

const dir = mkdtempSync(path.join(tmpdir(), 'director-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const storeModule = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sqlite-store.ts');

/** A real child process running `code` (an ES module body) with the store module at hand. */
function child(code: string, env: Record<string, string>): { process: ChildProcess; output: Promise<string> } {
  const prelude = `const { openSqliteStore } = await import(${JSON.stringify(storeModule)});\n`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', prelude + code], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const output = new Promise<string>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(stdout);
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    });
  });
  return { process: proc, output };
}

/**
 * Children wait for a shared instant so that their opens and claims really overlap: timers get them
 * close, a short spin gets them within microseconds of each other.
 */
const waitForStart = `const startAt = Number(process.env.START_AT);
  while (Date.now() < startAt - 20) await new Promise((r) => setTimeout(r, 5));
  while (Date.now() < startAt);\n`;

describeStoreContract('sqlite', () => openSqliteStore({ file: path.join(dir, 'contract', 'director.db') }));

describe('SQLite store', () => {
  it('answers filters of any count, keeping statements only for the common counts', async () => {
    const store = await openSqliteStore({ file: path.join(dir, 'filters', 'director.sqlite'), synchronous: 'NORMAL' });
    try {
      const now = Date.now();
      await store.putTask(parseTask({ id: 'a', script: 'x.js', owner: 'ann' }, { fallbackId: 'a', createdMs: now, nowMs: now }));
      for (let count = 1; count <= MAX_CACHED_FILTER_COUNT + 24; count++) {
        const filter = Object.fromEntries(Array.from({ length: count }, (_, i) => (i === 0 ? ['owner', 'ann'] : [`k${i}`, 'v'])));
        assert.deepEqual((await store.listTasks({ filter })).map((t) => t.id), count === 1 ? ['a'] : [], String(count));
      }
      assert.deepEqual((await store.listTasks({ filter: { owner: 'ann' } })).map((t) => t.id), ['a']);
    } finally {
      await store.close();
    }
  });

  it('creates the data folder when it is missing', async () => {
    const file = path.join(dir, 'missing', 'deeper', 'director.db');
    const store = await openSqliteStore({ file });
    assert.deepEqual(await store.countTasks(), { total: 0, running: 0 });
    await store.close();
  });

  it('keeps its data in WAL mode across reopening, applying no migration twice', async () => {
    const file = path.join(dir, 'reopen.db');
    const first = await openSqliteStore({ file, synchronous: 'NORMAL' });
    await first.putTask(parseTask({ id: 'kept', script: 'a.js' }, { fallbackId: 'x', createdMs: 1, nowMs: 1 }));
    await first.close();
    const second = await openSqliteStore({ file });
    assert.equal((await second.getTask('kept'))?.id, 'kept');
    await second.close();
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(raw.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get(), sqliteMigrations.length);
    raw.close();
  });

  it('a task put before the process is killed with SIGKILL is there after reopening', async () => {
    const file = path.join(dir, 'crash.db');
    const { process: proc, output } = child(
      `const { parseTask } = await import(${JSON.stringify(path.join(path.dirname(storeModule), '../../domain/task.ts'))});
      const store = await openSqliteStore({ file: process.env.DB_FILE });
      await Promise.all(Array.from({ length: 50 }, (_, i) =>
        store.putTask(parseTask({ id: 'crash-' + i, script: 'a.js', running: true, interval: 1000 }, { fallbackId: 'x', createdMs: i, nowMs: i }))));
      console.log('ok');
      setInterval(() => {}, 1000);`,
      { DB_FILE: file },
    );
    // Kill as soon as "ok" is printed: nothing after the acknowledged writes may help them to disk.
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ok')) {
          proc.kill('SIGKILL');
          resolve();
        }
      });
      output.catch(reject);
    });
    await output;
    const store = await openSqliteStore({ file });
    assert.deepEqual(await store.countTasks(), { total: 50, running: 50 });
    assert.equal((await store.getTask('crash-49'))?.intervalMs, 1000);
    await store.close();
  });

  it('two stores on the same file never both claim a slot', async () => {
    const file = path.join(dir, 'race.db');
    await (await openSqliteStore({ file })).close();
    const startAt = String(Date.now() + 1500);
    const claimer = (owner: string) =>
      child(
        `const store = await openSqliteStore({ file: process.env.DB_FILE });
        ${waitForStart}
        const won = [];
        // Small batches interleave the two processes' transactions on the write lock.
        for (let first = 0; first < 400; first += 8) {
          const claims = Array.from({ length: 8 }, (_, k) => ({ taskId: 'race', slot: first + k, owner: process.env.OWNER, nowMs: 1, leaseMs: 1000 }));
          for (const run of await store.claimSlots(claims)) won.push(run.slot);
        }
        await store.close();
        console.log(JSON.stringify(won));`,
        { DB_FILE: file, OWNER: owner, START_AT: startAt },
      ).output;
    const [a, b] = (await Promise.all([claimer('a'), claimer('b')])).map((out) => JSON.parse(out) as number[]);
    assert.ok(a && b);
    assert.equal(a.length + b.length, 400);
    assert.equal(new Set([...a, ...b]).size, 400, 'every slot has exactly one winner');
    const store = await openSqliteStore({ file });
    assert.equal((await store.listRuns('race')).length, 400);
    await store.close();
  });

  it('migrations are applied once when two stores open an empty file together', async () => {
    const file = path.join(dir, 'migrate-race.db');
    const startAt = String(Date.now() + 1500);
    const opener = () =>
      child(
        `${waitForStart}
        const store = await openSqliteStore({ file: process.env.DB_FILE });
        console.log(JSON.stringify(await store.countTasks()));
        await store.close();`,
        { DB_FILE: file, START_AT: startAt },
      ).output;
    const outputs = await Promise.all([opener(), opener(), opener()]);
    for (const out of outputs) assert.deepEqual(JSON.parse(out), { total: 0, running: 0 });
    const raw = new Database(file, { readonly: true });
    const versions = raw.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    raw.close();
    assert.deepEqual(versions, sqliteMigrations.map((m) => m.version));
  });

  it('migration 4 rebuilds runs keeping their rows, ids, id sequence, claims and indexes', async () => {
    const file = path.join(dir, 'migrate-4.db');
    const db = new Database(file);
    migrateSqlite(db, sqliteMigrations.filter((m) => m.version <= 3));
    const insert = db.prepare(`
      INSERT INTO runs (task_id, slot_ms, attempt, "trigger", status, owner, created_ms, started_ms, finished_ms, error, lease_until_ms, queued_ms)
      VALUES (?, ?, ?, ?, ?, 'old', 10, 11, ?, ?, ?, 9)`);
    insert.run('t', 60_000, 1, 'schedule', 'succeeded', 20, null, null);
    insert.run('t', 60_000, 2, 'schedule', 'failed', 20, '{"stage":"run","name":"Error","message":"boom"}', null);
    insert.run('t', null, 1, 'manual', 'succeeded', 20, null, null);
    insert.run('t', 120_000, 1, 'schedule', 'running', null, null, 5_000);
    insert.run('u', 60_000, 1, 'test', 'succeeded', 20, null, null);
    // The newest run was trimmed: its id must not come back.
    db.prepare('DELETE FROM runs WHERE id = 5').run();
    const before = db.prepare('SELECT * FROM runs ORDER BY id').all() as Record<string, unknown>[];
    db.close();

    const store = await openSqliteStore({ file, synchronous: 'NORMAL' });
    try {
      const [next] = await store.claimSlots([{ taskId: 't', slot: 180_000, owner: 'new', nowMs: 1, leaseMs: 1 }]);
      assert.equal(next?.id, 6);
      assert.deepEqual(await store.claimSlots([{ taskId: 't', slot: 60_000, owner: 'new', nowMs: 1, leaseMs: 1 }]), [], 'old claims still hold');
      assert.deepEqual((await store.runningRuns(['t'])).map((r) => r.id), [4, 6]);
      assert.equal((await store.getRun(2))?.error?.message, 'boom');
    } finally {
      await store.close();
    }
    const raw = new Database(file, { readonly: true });
    try {
      assert.deepEqual(raw.prepare('SELECT * FROM runs WHERE id < 6 ORDER BY id').all(), before.map((row) => ({ ...row, backfill_id: null })));
      const indexes = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' ORDER BY name").pluck().all();
      assert.deepEqual(indexes, ['runs_backfill_claim', 'runs_claim', 'runs_running', 'runs_task_newest']);
      assert.deepEqual(raw.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'runs_new%'").all(), []);
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(raw.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 2, 3, 4]);
    } finally {
      raw.close();
    }
  });

  it('a failing migration names itself and what to do, and leaves nothing of it applied', () => {
    const db = new Database(':memory:');
    const broken = [...sqliteMigrations, { version: 99, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;' }];
    assert.throws(() => migrateSqlite(db, broken), /SQLite migration 99 \(broken\) failed: no such table: no_such_table\. Nothing of it was applied/);
    assert.equal(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('half', 'tasks', 'schema_migrations')").pluck().get(), 0);
    assert.deepEqual(migrateSqlite(db), sqliteMigrations.map((m) => m.version));
    db.close();
  });
});
