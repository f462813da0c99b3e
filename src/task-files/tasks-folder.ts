// The tasks folder (COMPAT 32): every task mirrored as <dir>/<id>.json, and edits made there by others
// (Governify scripts rewrite init/end this way) imported into the store and the schedule.
//
// The store stays the source of truth. Files are imported through the task-write service, with the
// checks of a POST (repeat, sibling X.json, script origin); every `task:changed` (API writes, ends,
// other replicas) is mirrored to its file. Our own writes are remembered by content so they are not
// re-imported; a scan every second (plus fs.watch as a nudge) finds the others' changes well within 3 s.
//
// The folder never stops Director: a file that cannot be read (a symlink, too large, not JSON, not a
// task) is logged once and skipped, a file that cannot be written is logged and written again at the
// next scan, and start-up goes on whatever the folder holds. Files are written 0600 (tasks may hold
// credentials), opened without following symlinks, and read up to `maxFileBytes`.

import { constants, watch, type FSWatcher } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isDirectorError } from '../domain/errors.js';
import { jsonEqual } from '../domain/json-equal.js';
import type { TaskDoc } from '../domain/task.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import type { TaskWrites } from '../tasks/task-writes.js';
import { jsonErrorWithoutText } from '../api/json-error.js';
import { fileNameOf } from './task-file-name.js';

export interface TasksFolderDeps {
  readonly dir: string;
  /** Read only: what the files mirror. */
  readonly store: Pick<Store, 'getTask' | 'listTasks'>;
  /** Edits found in the folder are written through it, like any other task write. */
  readonly tasks: Pick<TaskWrites, 'post' | 'remove'>;
  /** Every task:changed is mirrored to its file before the write that announced it is answered. */
  readonly events: DirectorEvents;
  readonly clock: Pick<Clock, 'setTimer'>;
  readonly logger: Logger;
  readonly scanMs?: number;
  /** Larger files are skipped (and logged); default 64 MiB. */
  readonly maxFileBytes?: number;
}

const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface TasksFolder {
  /** Imports the folder, writes files for stored tasks that have none, then watches. */
  start(): Promise<void>;
  /** Writes (or removes) the file of one task to match the store. Never fails (retried at the next scan). */
  mirror(id: string): Promise<void>;
  /** One pass over the folder; resolves when every change found is applied. */
  scan(): Promise<void>;
  stop(): Promise<void>;
}

const FILE = /^(.+)\.json$/;

export function createTasksFolder(deps: TasksFolderDeps): TasksFolder {
  const { dir, store, tasks, events, clock, logger } = deps;
  /** What each file held when we last wrote or read it; a different text means someone else changed it. */
  const known = new Map<string, string>();
  /** mtime and size seen at the last scan, so unchanged files are not read again. */
  const seen = new Map<string, string>();
  /** Texts of malformed files already reported, so each bad version is logged once. */
  const reported = new Map<string, string>();
  let timer: TimerHandle | undefined;
  let watcher: FSWatcher | undefined;
  let stopped = false;
  // Mirroring and scanning take turns: a scan that overlapped a delete could otherwise re-import the
  // file the delete is removing.
  let turn: Promise<unknown> = Promise.resolve();
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = turn.then(fn, fn);
    turn = result.catch(() => undefined);
    return result;
  }
  let queuedScan: Promise<void> | undefined;
  /** Tasks whose file could not be written: tried again at every scan. */
  const unwritten = new Set<string>();
  const maxFileBytes = deps.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  /**
   * Tasks being written from their file right now: their own announcement is not mirrored back (it
   * would rewrite the file someone just edited, and wait for the scan that is waiting for it).
   */
  const importing = new Set<string>();
  const offChanged = events.on('task:changed', ({ id }) => (importing.has(id) ? undefined : mirror(id)));

  const fileOf = (id: string) => path.join(dir, fileNameOf(id));

  async function writeAtomically(id: string, text: string): Promise<void> {
    // Short and fixed in length whatever the id (a 250-byte id leaves no room in a name for more), and
    // created exclusively: a link planted under this name is not followed.
    const temporary = path.join(dir, `.director-${randomBytes(8).toString('hex')}.tmp`);
    try {
      await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
      await rename(temporary, fileOf(id));
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    known.set(id, text);
  }

  /** Never fails: the task is stored already, and its file is written again at the next scan. */
  function mirror(id: string): Promise<void> {
    return exclusive(async () => {
      try {
        await mirrorNow(id);
        unwritten.delete(id);
      } catch (error) {
        if (!unwritten.has(id)) logger.error({ err: error, taskId: id, dir }, 'writing the task file failed; the task is stored; retrying at the next scan');
        unwritten.add(id);
      }
    });
  }

  async function mirrorNow(id: string): Promise<void> {
    const task = await store.getTask(id);
    if (task) {
      await writeAtomically(id, `${JSON.stringify(task.doc, null, 2)}\n`);
    } else {
      known.delete(id);
      await unlink(fileOf(id)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  }

  async function importFile(id: string, text: string): Promise<void> {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (error) {
      return reportBad(id, text, `not valid JSON: ${jsonErrorWithoutText(error)}`);
    }
    const isObject = typeof doc === 'object' && doc !== null && !Array.isArray(doc);
    if (isObject && (doc as TaskDoc).id !== undefined && (doc as TaskDoc).id !== id) {
      return reportBad(id, text, `its id "${String((doc as TaskDoc).id)}" differs from the file name`);
    }
    // A file is a POST whose id is the file's name (a file without `id` means that one).
    const body = isObject ? { ...(doc as TaskDoc), id } : doc;
    const existing = await store.getTask(id);
    if (existing && jsonEqual(existing.doc, body)) {
      known.set(id, text);
      return;
    }
    importing.add(id);
    try {
      const { change } = await tasks.post(body);
      known.set(id, text);
      reported.delete(id);
      logger.info({ taskId: id, change }, 'task file changed by someone else: imported and re-planned');
    } catch (error) {
      if (!isDirectorError(error)) throw error;
      if (error.code === 'ASSETS_UNREACHABLE') {
        // Not the file's fault: read it again at the next scan rather than skipping this version for good.
        seen.delete(id);
        logger.warn({ taskId: id, file: fileOf(id), problem: error.message }, 'task file not imported yet: the assets are unreachable; retrying at the next scan');
        return;
      }
      reportBad(id, text, error.message);
    } finally {
      importing.delete(id);
    }
  }

  function reportBad(id: string, text: string, problem: string): void {
    known.set(id, text);
    if (reported.get(id) === text) return;
    reported.set(id, text);
    logger.warn({ taskId: id, file: fileOf(id), problem }, 'malformed task file skipped; the task keeps its last valid version');
  }

  async function removeTask(id: string): Promise<void> {
    known.delete(id);
    reported.delete(id);
    importing.add(id);
    try {
      await tasks.remove(id);
      logger.info({ taskId: id }, 'task file deleted by someone else: task deleted');
    } catch (error) {
      // Already gone from the store (deleted through the API meanwhile): nothing to do.
      if (!isDirectorError(error) || error.code !== 'TASK_NOT_FOUND') throw error;
    } finally {
      importing.delete(id);
    }
  }

  /** The text of a regular file, opened without following a symlink; a string saying why not otherwise. */
  async function readTaskFile(file: string): Promise<{ text: string } | { skip: string } | null> {
    let handle;
    try {
      handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null; // removed between readdir and read: the next scan sees it gone
      if (code === 'ELOOP') return { skip: 'it is a symbolic link, which is not followed' };
      return { skip: `it cannot be opened (${code ?? (error as Error).message})` };
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) return { skip: 'it is not a regular file' };
      if (info.size > maxFileBytes) return { skip: `it is ${info.size} bytes, more than the ${maxFileBytes} read` };
      const buffer = Buffer.alloc(Math.min(info.size, maxFileBytes) + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length >= buffer.length) return { skip: `it grew past the ${maxFileBytes} bytes read` };
      }
      return { text: buffer.subarray(0, length).toString('utf8') };
    } finally {
      await handle.close();
    }
  }

  async function scanOnce(): Promise<void> {
    for (const id of [...unwritten]) {
      try {
        await mirrorNow(id);
        unwritten.delete(id);
      } catch {
        // reported when it first failed
      }
    }
    const names = await readdir(dir);
    const present = new Set<string>();
    for (const name of names) {
      const match = FILE.exec(name);
      if (!match) continue;
      const id = match[1]!;
      present.add(id);
      // Hidden files (our temporary files, and ids stored before dot ids were refused) are not imported.
      if (name.startsWith('.')) continue;
      const file = path.join(dir, name);
      let outcome;
      try {
        const info = await lstat(file);
        const signature = `${info.mtimeMs}:${info.size}:${info.ino}`;
        if (seen.get(id) === signature && known.has(id)) continue;
        outcome = await readTaskFile(file);
        seen.set(id, signature);
      } catch {
        continue; // removed between readdir and lstat
      }
      if (outcome === null) continue;
      if ('skip' in outcome) {
        reportBad(id, `\0${outcome.skip}`, outcome.skip);
        continue;
      }
      if (known.get(id) !== outcome.text) await importFile(id, outcome.text);
    }
    for (const id of [...known.keys()]) {
      if (!present.has(id)) {
        seen.delete(id);
        await removeTask(id);
      }
    }
  }

  /** Queues one scan; scans asked for while one is queued share it. */
  function scan(): Promise<void> {
    if (queuedScan) return queuedScan;
    const next = exclusive(async () => {
      queuedScan = undefined;
      await scanOnce();
    }).catch((error: unknown) => {
      logger.error({ err: error, dir }, 'scanning the tasks folder failed; retrying at the next scan');
    });
    queuedScan = next;
    return next;
  }

  function schedule(): void {
    if (stopped) return;
    timer = clock.setTimer(() => void scan().finally(schedule), deps.scanMs ?? 1000);
  }

  return {
    async start() {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        // Files first (they may hold edits made while Director was down), then files for tasks without one.
        await scan();
        const names = new Set((await readdir(dir)).map((n) => FILE.exec(n)?.[1]).filter(Boolean));
        for (const task of await store.listTasks()) if (!names.has(task.id)) await mirror(task.id);
      } catch (error) {
        // Director runs without the folder until it is usable: every scan tries again and says why.
        logger.error({ err: error, dir }, 'the tasks folder cannot be used; Director runs on; retrying at the next scan');
      }
      try {
        watcher = watch(dir, () => void scan());
        watcher.on('error', () => undefined);
      } catch {
        // Some file systems cannot be watched: the periodic scan alone still meets the 3 s bound.
      }
      schedule();
    },
    mirror,
    scan,
    async stop() {
      stopped = true;
      offChanged();
      timer?.cancel();
      watcher?.close();
      await turn;
    },
  };
}
