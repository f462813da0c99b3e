// Group commit for the SQLite store. The writes issued in one event-loop turn share one transaction,
// and the fsync that makes them durable runs off the event loop (libuv's thread pool), covering every
// transaction committed before it started. Each caller's promise settles only after that fsync: an
// acknowledged write is exactly as durable as with synchronous=FULL, but the event loop never waits for
// the disk. While an fsync is in flight, new writes wait and are committed together as soon as it ends:
// they could not be answered before the next fsync anyway, and one commit costs less than many.

import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Database } from 'better-sqlite3';

interface PendingWrite {
  readonly apply: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** A committed write (or a reader) waiting for the fsync that covers it. */
interface Waiter {
  readonly done: () => void;
  readonly failed: (error: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

export interface GroupCommit {
  /**
   * Queues `apply` (synchronous SQL) for this turn's transaction; resolves with its value once that
   * transaction is committed and on disk. A write that throws is undone alone (its savepoint) and
   * rejects; a commit that fails rejects every write of the batch, none of which is then applied.
   */
  write<T>(apply: () => T): Promise<T>;
  /**
   * Undefined when everything committed is on disk; otherwise a promise for the fsync in flight.
   * Reads wait for it, so that nothing this process reads can be undone by a power cut. (Another
   * process reading the file may see a commit up to that one fsync before it is on disk.)
   */
  durable(): Promise<void> | undefined;
  /** Commits what is queued and waits for it to be on disk (before closing the database). */
  close(): Promise<void>;
}

/**
 * `walFile`: the connection runs with synchronous=NORMAL (SQLite syncs nothing at commit, only around
 * checkpoints) and this file is fdatasync'ed after each commit before anyone is answered — the same
 * sync synchronous=FULL would do inside COMMIT, on the event loop. Null: no sync at all (NORMAL asked).
 * `syncFile` is fs.fdatasync; tests pass one they can hold.
 */
export function createGroupCommit(db: Database, walFile: string | null, syncFile: typeof fdatasync = fdatasync): GroupCommit {
  let queue: PendingWrite[] = [];
  let scheduled = false;
  /** Committed since the fsync in flight started: the next fsync covers them. */
  let unsynced: Waiter[] = [];
  /** Covered by the fsync in flight; null when none is. */
  let syncing: Waiter[] | null = null;
  let fd: number | null = null;
  // Nested inside `batch`, better-sqlite3 runs this as a SAVEPOINT; alone, as its own transaction.
  const one = db.transaction((write: PendingWrite) => write.apply());
  const batch = db.transaction((writes: readonly PendingWrite[]): Outcome[] => writes.map((write) => {
    try {
      return { ok: true, value: one(write) };
    } catch (error) {
      return { ok: false, error };
    }
  }));

  function flush(): void {
    scheduled = false;
    const writes = queue;
    queue = [];
    if (writes.length === 0) return;
    let outcomes: Outcome[];
    try {
      // IMMEDIATE takes the write lock up front: a transaction that reads first and upgrades later
      // could fail with SQLITE_BUSY when another process writes meanwhile.
      outcomes = writes.length === 1 ? [{ ok: true, value: one.immediate(writes[0] as PendingWrite) }] : batch.immediate(writes);
    } catch (error) {
      for (const write of writes) write.reject(error);
      return;
    }
    outcomes.forEach((outcome, i) => {
      const write = writes[i] as PendingWrite;
      // A failed write left nothing behind: it can be answered now.
      if (!outcome.ok) write.reject(outcome.error);
      else if (walFile === null) write.resolve(outcome.value);
      else unsynced.push({ done: () => write.resolve(outcome.value), failed: write.reject });
    });
    if (syncing === null && unsynced.length > 0) sync();
  }

  /** One fdatasync at a time; what commits meanwhile waits for the next one, which starts right after. */
  function sync(): void {
    const covered = unsynced;
    unsynced = [];
    syncing = covered;
    const settle = (error: NodeJS.ErrnoException | null): void => {
      syncing = null;
      for (const waiter of covered) {
        if (error === null) waiter.done();
        else waiter.failed(new Error(`the write was committed, but syncing it to disk failed (${error.code ?? error.message}); it may not survive a power cut`, { cause: error }));
      }
      if (queue.length > 0) flush(); // commits what waited, and syncs it
      else if (unsynced.length > 0) sync();
    };
    try {
      fd ??= openSync(walFile as string, 'r');
    } catch (error) {
      settle(error as NodeJS.ErrnoException);
      return;
    }
    syncFile(fd, settle);
  }

  function durable(): Promise<void> | undefined {
    // Waiting behind the newest commit covers every older one too.
    const last = unsynced.length > 0 ? unsynced : syncing;
    if (last === null) return undefined;
    return new Promise<void>((resolve) => last.push({ done: resolve, failed: () => resolve() }));
  }

  return {
    write<T>(apply: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ apply, resolve: resolve as (value: unknown) => void, reject });
        // While an fsync is in flight, its end commits the queue.
        if (scheduled || syncing !== null) return;
        scheduled = true;
        // setImmediate runs after this turn's I/O callbacks: everything they write joins the batch.
        setImmediate(flush);
      });
    },
    durable,
    async close(): Promise<void> {
      while (queue.length > 0 || syncing !== null) {
        if (syncing === null) flush();
        else await durable();
      }
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
