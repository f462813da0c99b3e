// The periodic re-read on PostgreSQL: versions first, full documents only for the tasks that changed.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { parseTask, type TaskDoc } from '../domain/task.js';
import { DirectorEvents } from '../lib/events.js';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { createLogger } from '../lib/logger.js';
import { openPostgresStore } from '../store/postgres/postgres-store.js';
import type { Store } from '../store/store.js';
import { createHeldRuns } from '../runs/held-runs.js';
import { createScheduler } from './scheduler.js';
import { RecordingRunner } from './testing/recording-runner.js';

const url = process.env.DIRECTOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `director_reconcile_${process.pid}_${randomBytes(3).toString('hex')}`;
const T0 = Date.UTC(2030, 0, 1);

after(async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  await client.end();
});

/** Counts the reads the scheduler makes, on the real store. */
function counted(store: Store) {
  const calls = { listTasks: 0, getTask: 0, listTaskVersions: 0 };
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof property === 'string' && property in calls) calls[property as keyof typeof calls] += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, calls };
}

describe('re-reading tasks on PostgreSQL', () => {
  it('picks up writes it was not told about, reading in full only the tasks that changed', async () => {
    const raw = await openPostgresStore({ url, schema });
    const { store, calls } = counted(raw);
    const clock = new FakeClock(T0);
    const events = new DirectorEvents();
    const config = { catchUpMax: 100, leaseMs: 30_000, instanceId: 'director-a', reconcileMs: 5000 };
    const held = createHeldRuns(config.instanceId);
    const tasks = { deleteEnded: (id: string, nowMs: number) => store.deleteEndedTask(id, nowMs) };
    const scheduler = createScheduler({ config, store, held, tasks, runner: new RecordingRunner({ store, clock, events }), events, clock, logger: createLogger('silent') });
    const put = (doc: TaskDoc, at = clock.now()) => raw.putTask(parseTask({ script: 'x.js', ...doc }, { fallbackId: String(doc.id), createdMs: T0, nowMs: at }));
    try {
      for (let i = 0; i < 50; i++) await put({ id: `t${i}`, running: true, init: T0, interval: 60_000 });
      await scheduler.start();
      assert.equal(scheduler.nextExecution('t0'), T0 + 60_000);

      Object.assign(calls, { listTasks: 0, getTask: 0, listTaskVersions: 0 });
      await scheduler.reconcile();
      assert.deepEqual(calls, { listTasks: 0, getTask: 0, listTaskVersions: 1 }, 'nothing changed: no document read');

      // Another replica wrote, and its notifications were lost.
      await put({ id: 'new', running: true, init: T0, interval: 60_000 }, T0 + 1);
      await put({ id: 't1', running: false, init: T0, interval: 60_000 }, T0 + 1);
      await raw.deleteTask('t2');
      await put({ id: 'on-demand', running: true }, T0 + 1);
      await scheduler.reconcile();
      assert.deepEqual(calls, { listTasks: 0, getTask: 2, listTaskVersions: 2 }, 'only the new and the stopped task are read');
      assert.equal(scheduler.nextExecution('new'), T0 + 60_000);
      assert.equal(scheduler.nextExecution('t1'), undefined);
      assert.equal(scheduler.nextExecution('t2'), undefined);
      assert.equal(scheduler.nextExecution('t3'), T0 + 60_000);
    } finally {
      await scheduler.stop();
      await raw.close();
    }
  });
});
