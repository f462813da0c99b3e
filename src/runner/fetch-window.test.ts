// The fetch window: scripts are fetched at most a window ahead of the executors, in run order.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { FetchedScript } from '../assets/assets.js';
import { testConfig } from '../config.js';
import { parseTask } from '../domain/task.js';
import { systemClock } from '../lib/clock.js';
import { DirectorEvents } from '../lib/events.js';
import { createLogger } from '../lib/logger.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createFetchWindow } from './fetch-window.js';
import { createTaskRunner } from './task-runner.js';

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('fetch window', () => {
  test('lets `size` in at once, the others in the order they came, and a release counts once', async () => {
    const window = createFetchWindow(2);
    const order: number[] = [];
    const entries = [0, 1, 2, 3].map((i) => window.enter().then((release) => {
      order.push(i);
      return release;
    }));
    await turns(2);
    assert.deepEqual(order, [0, 1]);
    const first = await entries[0] as () => void;
    first();
    first(); // twice: still one place freed
    await turns(2);
    assert.deepEqual(order, [0, 1, 2]);
    (await entries[1] as () => void)();
    await turns(2);
    assert.deepEqual(order, [0, 1, 2, 3]);
  });

  test('a burst of claimed runs fetches no more than the window ahead of the executors, and all of them run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'director-fetch-window-'));
    const config = testConfig({ executors: 2, executorMemoryMb: 64 });
    const store = await openSqliteStore({ file: path.join(dir, 'director.sqlite'), synchronous: 'NORMAL' });
    const pending: Array<() => void> = [];
    const assets = {
      fetchScript: (url: string) => new Promise<FetchedScript>((resolve) => {
        pending.push(() => resolve({ url, text: 'module.exports.main = () => 1;', sha256: 'x' }));
      }),
    };
    const runner = createTaskRunner({ config, store, assets, env: process.env, events: new DirectorEvents(), clock: systemClock, logger: createLogger('silent') });
    try {
      await runner.ready();
      const now = Date.now();
      const task = parseTask({ id: 'burst', script: 'burst.js', running: true, interval: 1000 }, { fallbackId: 'burst', createdMs: now, nowMs: now });
      await store.putTask(task);
      const runs = await store.claimSlots(Array.from({ length: 100 }, (_, i) => ({ taskId: task.id, slot: now + i, owner: config.instanceId, nowMs: now, leaseMs: 60_000 })));
      const ended = Promise.all(runs.map((run) => runner.runClaimed(task, run)));
      await turns(5);
      assert.equal(pending.length, 64, 'fetched ahead: the window, not the whole burst');
      // Each answer lets its run go to an executor, which lets the next fetch go.
      let answered = 0;
      while (answered < 100) {
        while (answered < pending.length) (pending[answered++] as () => void)();
        await turns(5);
        if (answered === pending.length && answered < 100) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const results = await ended;
      assert.equal(results.filter((r) => r.status === 'succeeded').length, 100);
    } finally {
      await runner.close(1000);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
