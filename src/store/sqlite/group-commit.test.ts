// Group commit: writes of one turn share a transaction, yet each succeeds or fails on its own; none is
// answered before its commit is on disk, and reads wait for the sync in flight.

import assert from 'node:assert/strict';
import { fdatasync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createGroupCommit } from './group-commit.js';

const dir = mkdtempSync(path.join(tmpdir(), 'director-group-commit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function open(name: string): { db: Database.Database; file: string; wal: string } {
  const file = path.join(dir, `${name}.sqlite`);
  const db = new Database(file, { timeout: 0 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)');
  return { db, file, wal: `${file}-wal` };
}

/** fdatasync that waits for `release()`: lets a test look between commit and disk. */
function heldSync() {
  const held: Array<() => void> = [];
  let fail: NodeJS.ErrnoException | null = null;
  const sync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    held.push(() => (fail === null ? fdatasync(fd, callback) : callback(fail)));
  }) as typeof fdatasync;
  return {
    sync,
    get held() {
      return held.length;
    },
    release(error: NodeJS.ErrnoException | null = null) {
      fail = error;
      for (const go of held.splice(0)) go();
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SQLite group commit', () => {
  it('commits the writes of one turn in one transaction, and answers each only once it is on disk', async () => {
    const { db, file, wal } = open('one-turn');
    const reader = new Database(file, { readonly: true });
    const count = reader.prepare('SELECT COUNT(*) FROM items').pluck();
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const disk = heldSync();
    const commits = createGroupCommit(db, wal, disk.sync);
    const seenByReader: unknown[] = [];
    let answered = false;
    const writes = Promise.all(['a', 'b', 'c'].map((name) => commits.write(() => {
      seenByReader.push(count.get());
      return Number(insert.run(name).lastInsertRowid);
    }))).then((ids) => {
      answered = true;
      return ids;
    });
    assert.equal(count.get(), 0, 'nothing is applied within the turn');
    await turn();
    await turn();
    assert.deepEqual(seenByReader, [0, 0, 0], 'no write was committed before the last one ran: one transaction');
    assert.equal(disk.held, 1, 'one sync for the three');
    assert.equal(answered, false, 'committed, but not answered before the sync');
    disk.release();
    assert.deepEqual(await writes, [1, 2, 3], 'applied in the order they were issued');
    assert.equal(count.get(), 3);
    reader.close();
    await commits.close();
    db.close();
  });

  it('holds writes that come while an fsync is in flight, and commits them together when it ends', async () => {
    const { db, file, wal } = open('held');
    const reader = new Database(file, { readonly: true });
    const count = reader.prepare('SELECT COUNT(*) FROM items').pluck();
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const disk = heldSync();
    const commits = createGroupCommit(db, wal, disk.sync);
    const first = commits.write(() => insert.run('first'));
    await turn();
    assert.equal(disk.held, 1);
    const seenByReader: unknown[] = [];
    const later: Promise<unknown>[] = [];
    for (const name of ['second', 'third']) {
      later.push(commits.write(() => {
        seenByReader.push(count.get());
        return insert.run(name);
      }));
      await turn();
    }
    assert.deepEqual(seenByReader, [], 'not applied while the first fsync is in flight');
    disk.release();
    await first;
    assert.deepEqual(seenByReader, [1, 1], 'applied together, in one transaction, once it ended');
    assert.equal(disk.held, 1, 'and synced with one more fsync');
    disk.release();
    await Promise.all(later);
    assert.equal(count.get(), 3);
    reader.close();
    await commits.close();
    db.close();
  });

  it('rejects only the write that fails; the others of its batch are committed', async () => {
    const { db, wal } = open('one-fails');
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const commits = createGroupCommit(db, wal);
    const results = await Promise.allSettled([
      commits.write(() => insert.run('x')),
      commits.write(() => {
        insert.run('y');
        insert.run('x'); // UNIQUE violation: its own 'y' must be undone with it
      }),
      commits.write(() => insert.run('z')),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.deepEqual(db.prepare('SELECT name FROM items ORDER BY id').pluck().all(), ['x', 'z']);
    await commits.close();
    db.close();
  });

  it('rejects every write of a batch whose transaction cannot be had, and applies none', async () => {
    const { db, file, wal } = open('locked');
    const other = new Database(file, { timeout: 0 });
    other.prepare('BEGIN IMMEDIATE').run(); // another process holds the write lock
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const commits = createGroupCommit(db, wal);
    const results = await Promise.allSettled([commits.write(() => insert.run('p')), commits.write(() => insert.run('q'))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((results[0] as PromiseRejectedResult).reason), /locked|busy/i);
    other.prepare('ROLLBACK').run();
    other.close();
    assert.equal(db.prepare('SELECT COUNT(*) FROM items').pluck().get(), 0);
    await commits.close();
    db.close();
  });

  it('has reads wait while a commit is not on disk yet, and lets them go once it is', async () => {
    const { db, wal } = open('reads');
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const disk = heldSync();
    const commits = createGroupCommit(db, wal, disk.sync);
    assert.equal(commits.durable(), undefined, 'nothing to wait for');
    const write = commits.write(() => insert.run('r'));
    await turn();
    let readable = false;
    const read = commits.durable()?.then(() => (readable = true));
    assert.ok(read !== undefined);
    await turn();
    assert.equal(readable, false);
    disk.release();
    await write;
    await read;
    assert.equal(readable, true);
    assert.equal(commits.durable(), undefined);
    await commits.close();
    db.close();
  });

  it('reports a failed sync to the writers it covered, naming what happened', async () => {
    const { db, wal } = open('sync-fails');
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const disk = heldSync();
    const commits = createGroupCommit(db, wal, disk.sync);
    const write = commits.write(() => insert.run('s'));
    await turn();
    disk.release(Object.assign(new Error('input/output error'), { code: 'EIO' }));
    await assert.rejects(write, /committed, but syncing it to disk failed \(EIO\)/);
    await commits.close();
    db.close();
  });

  it('close() commits what is queued and waits for it to be on disk', async () => {
    const { db, wal } = open('close');
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const commits = createGroupCommit(db, wal);
    const write = commits.write(() => insert.run('last'));
    await commits.close();
    db.close();
    assert.equal((await write).changes, 1);
  });
});
