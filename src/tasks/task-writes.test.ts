// The task-write service: one path for every task write, checks first, then store → re-plan → announce.
// Also the tasks folder, which now writes through it and so gets the same checks as a POST.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DirectorError } from '../domain/errors.js';
import { systemClock } from '../lib/clock.js';
import { DirectorEvents } from '../lib/events.js';
import { createLogger } from '../lib/logger.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { createTasksFolder } from '../task-files/tasks-folder.js';
import { createTaskWrites, type AssetsPort, type TaskWrites } from './task-writes.js';

/** Scripts on evil.test are refused; `filled.js` has a sibling filled.json with an interval. */
const assets: AssetsPort = {
  resolveScriptUrl(script) {
    if (script.startsWith('http://evil.test/')) throw new DirectorError('SCRIPT_ORIGIN_REJECTED', `script: ${script} is not an allowed origin`);
    return `http://assets.test/${script}`;
  },
  async fetchSiblingJson(script) {
    return script === 'filled.js' ? { interval: 60_000 } : null;
  },
};

describe('task writes', () => {
  let dir: string;
  let store: Store;
  let events: DirectorEvents;
  let steps: string[];
  let writes: TaskWrites;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'director-task-writes-'));
    store = await openSqliteStore({ file: path.join(dir, 'director.sqlite'), synchronous: 'NORMAL' });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    steps = [];
    events = new DirectorEvents();
    events.on('task:changed', async ({ id, change }) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      steps.push(`announced ${id} ${change}`);
    });
    const replan = async (id: string) => {
      steps.push(`replanned ${id}${(await store.getTask(id)) ? '' : ' (gone)'}`);
    };
    writes = createTaskWrites({ store, assets, events, clock: systemClock, replan });
  });

  it('stores, re-plans, then announces, and answers only once the announcement was handled', async () => {
    const { change } = await writes.post({ id: 'a', script: 'x.js', running: false });
    assert.equal(change, 'created');
    assert.deepEqual(steps, ['replanned a', 'announced a created']);
    await writes.put('a', { script: 'x.js', running: true, interval: 1000 });
    await writes.setRunning('a', 'stop');
    await writes.remove('a');
    assert.deepEqual(steps.slice(2), ['replanned a', 'announced a replaced', 'replanned a', 'announced a replaced', 'replanned a (gone)', 'announced a deleted']);
  });

  it('refuses a POST that repeats a task field for field, a script of a foreign origin, and fills from the sibling X.json', async () => {
    await writes.post({ id: 'r', script: 'x.js', running: false });
    await assert.rejects(writes.post({ id: 'r', script: 'x.js' }), { code: 'TASK_ALREADY_EXISTS' });
    await assert.rejects(writes.post({ id: 'evil', script: 'http://evil.test/x.js' }), { code: 'SCRIPT_ORIGIN_REJECTED' });
    assert.equal(await store.getTask('evil'), undefined, 'nothing stored');
    const { task } = await writes.post({ id: 'f', script: 'filled.js', running: false });
    assert.equal(task.intervalMs, 60_000);
  });

  it('deletes an ended task once, announcing it as ended without a re-plan', async () => {
    await writes.post({ id: 'e', script: 'x.js', running: true, init: '2020-01-01T00:00:00Z', end: '2020-01-02T00:00:00Z', interval: 1000 });
    steps = [];
    const announced = events.next('task:changed', (c) => c.id === 'e');
    assert.equal(await writes.deleteEnded('e', Date.now()), true);
    assert.deepEqual(await announced, { id: 'e', change: 'ended' });
    assert.equal(await writes.deleteEnded('e', Date.now()), false, 'the second caller deletes nothing');
    assert.ok(!steps.some((s) => s.startsWith('replanned')));
  });
});

describe('the tasks folder writes through the task-write service', () => {
  let root: string;
  let store: Store;
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'director-folder-writes-'));
    store = await openSqliteStore({ file: path.join(root, 'director.sqlite'), synchronous: 'NORMAL' });
  });
  after(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function folderWith(name: string, files: Record<string, unknown>) {
    const dir = path.join(root, name);
    mkdirSync(dir);
    for (const [id, doc] of Object.entries(files)) writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(doc));
    const events = new DirectorEvents();
    const replanned: string[] = [];
    const tasks = createTaskWrites({ store, assets, events, clock: systemClock, replan: async (id) => void replanned.push(id) });
    const warnings: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => void warnings.push(line) });
    const folder = createTasksFolder({ dir, store, tasks, events, clock: systemClock, logger, scanMs: 60_000 });
    return { dir, folder, tasks, replanned, warnings };
  }

  it('fills a file\'s missing schedule from the sibling X.json and refuses a foreign script origin', async () => {
    const f = await folderWith('checks', { filled: { script: 'filled.js', running: false }, evil: { script: 'http://evil.test/x.js', running: false } });
    try {
      await f.folder.scan();
      assert.equal((await store.getTask('filled'))?.intervalMs, 60_000, 'filled from filled.json like a POST');
      assert.deepEqual(f.replanned, ['filled'], 'and re-planned');
      assert.equal(await store.getTask('evil'), undefined, 'a foreign origin is refused');
      assert.ok(f.warnings.some((w) => w.includes('"taskId":"evil"') && w.includes('not an allowed origin')));
    } finally {
      await f.folder.stop();
    }
  });

  it('refuses a file that repeats the stored task field for field, as a POST would', async () => {
    const f = await folderWith('repeat', {});
    try {
      await f.tasks.post({ id: 'same', script: 'x.js', running: false, config: { a: 1 } });
      writeFileSync(path.join(f.dir, 'same.json'), JSON.stringify({ script: 'x.js', running: false }));
      await f.folder.scan();
      assert.deepEqual((await store.getTask('same'))?.doc.config, { a: 1 }, 'the stored task is kept');
      assert.ok(f.warnings.some((w) => w.includes('"taskId":"same"') && w.includes('Task already exists')));
    } finally {
      await f.folder.stop();
    }
  });

  it('mirrors every announced write, and does not write back a file it imported', async () => {
    const f = await folderWith('mirror', { edited: { script: 'x.js',   running: false } });
    try {
      const text = readFileSync(path.join(f.dir, 'edited.json'), 'utf8');
      await f.folder.scan();
      assert.equal(readFileSync(path.join(f.dir, 'edited.json'), 'utf8'), text, 'the imported file is left as its author wrote it');
      await f.tasks.post({ id: 'api', script: 'x.js', running: false });
      assert.deepEqual(JSON.parse(readFileSync(path.join(f.dir, 'api.json'), 'utf8')), { id: 'api', script: 'x.js', running: false }, 'written before the write resolved');
    } finally {
      await f.folder.stop();
    }
  });
});
