// The tasks folder (COMPAT 32): every task mirrored as <dir>/<id>.json, and edits made there by others
// (Governify scripts rewrite init/end this way) imported into the store and the schedule.
//
// The store stays the source of truth. Our own writes are remembered by content so they are not
// re-imported; a scan every second (plus fs.watch as a nudge) finds the others' changes well within 3 s.

import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isDirectorError } from '../domain/errors.js';
import { jsonEqual } from '../domain/json-equal.js';
import { parseTask, type TaskDoc } from '../domain/task.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';

export interface TasksFolderDeps {
  readonly dir: string;
  readonly store: Store;
  readonly scheduler: { taskChanged(id: string): Promise<void> };
  readonly events: DirectorEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly scanMs?: number;
}

export interface TasksFolder {
  /** Imports the folder, writes files for stored tasks that have none, then watches. */
  start(): Promise<void>;
  /** Writes (or removes) the file of one task to match the store. Called before a write's response. */
  mirror(id: string): Promise<void>;
  /** One pass over the folder; resolves when every change found is applied. */
  scan(): Promise<void>;
  stop(): Promise<void>;
}

const FILE = /^(.+)\.json$/;

export function createTasksFolder(deps: TasksFolderDeps): TasksFolder {
  const { dir, store, scheduler, events, clock, logger } = deps;
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

  const fileOf = (id: string) => path.join(dir, `${id}.json`);

  async function writeAtomically(id: string, text: string): Promise<void> {
    const temporary = path.join(dir, `.${id}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(temporary, text);
    await rename(temporary, fileOf(id));
    known.set(id, text);
  }

  function mirror(id: string): Promise<void> {
    return exclusive(() => mirrorNow(id));
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
      return reportBad(id, text, `not valid JSON: ${(error as Error).message}`);
    }
    const existing = await store.getTask(id);
    if (existing && jsonEqual(existing.doc, doc)) {
      known.set(id, text);
      return;
    }
    try {
      if (typeof doc === 'object' && doc !== null && !Array.isArray(doc) && (doc as TaskDoc).id !== undefined && (doc as TaskDoc).id !== id) {
        return reportBad(id, text, `its id "${String((doc as TaskDoc).id)}" differs from the file name`);
      }
      const now = clock.now();
      const task = parseTask(doc, { fallbackId: id, createdMs: existing?.createdMs ?? now, nowMs: now });
      const change = await store.putTask(task);
      await scheduler.taskChanged(id);
      known.set(id, text);
      reported.delete(id);
      events.emit('task:changed', { id, change });
      logger.info({ taskId: id, change }, 'task file changed by someone else: imported and re-planned');
    } catch (error) {
      if (!isDirectorError(error)) throw error;
      reportBad(id, text, error.message);
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
    if (await store.deleteTask(id)) {
      await scheduler.taskChanged(id);
      events.emit('task:changed', { id, change: 'deleted' });
      logger.info({ taskId: id }, 'task file deleted by someone else: task deleted');
    }
  }

  async function scanOnce(): Promise<void> {
    const names = await readdir(dir);
    const present = new Set<string>();
    for (const name of names) {
      const match = FILE.exec(name);
      if (!match || name.startsWith('.')) continue;
      const id = match[1]!;
      present.add(id);
      let text: string;
      try {
        const info = await stat(path.join(dir, name));
        const signature = `${info.mtimeMs}:${info.size}`;
        if (seen.get(id) === signature && known.has(id)) continue;
        text = await readFile(path.join(dir, name), 'utf8');
        seen.set(id, signature);
      } catch {
        continue; // removed between readdir and read: the next scan sees it gone
      }
      if (known.get(id) !== text) await importFile(id, text);
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
      await mkdir(dir, { recursive: true });
      await stat(dir);
      // Files first (they may hold edits made while Director was down), then files for tasks without one.
      await scan();
      const names = new Set((await readdir(dir)).map((n) => FILE.exec(n)?.[1]).filter(Boolean));
      for (const task of await store.listTasks()) if (!names.has(task.id)) await mirror(task.id);
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
      timer?.cancel();
      watcher?.close();
      await turn;
    },
  };
}
