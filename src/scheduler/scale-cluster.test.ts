// Many tasks on one slot, and two schedulers (two processes' worth) sharing one SQLite file.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTask } from '../domain/task.js';
import { FakeClock, settle } from '../lib/testing/fake-clock.js';
import { createLogger } from '../lib/logger.js';
import { createLeaseKeeper } from '../runs/lease-keeper.js';
import { createHarness, dispatchedAt, HOUR, MINUTE, SECOND, T0 } from './testing/scheduler-harness.js';

/** Lets chunked claim batches and their dispatch finish (each chunk yields one turn). */
async function until(done: () => boolean, turns = 2000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await settle(1);
  assert.ok(done(), 'the condition was not reached');
}

describe('10,000 tasks sharing one slot', () => {
  it('runs each exactly once, on time, claimed in a few batches', async () => {
    const h = await createHarness();
    try {
      const n = 10_000;
      for (let i = 0; i < n; i++) {
        await h.store.putTask(parseTask({ id: `t${i}`, script: 'x.js', running: true, init: T0 + MINUTE, interval: 10 * MINUTE }, { fallbackId: '', createdMs: T0, nowMs: T0 }));
      }
      const started = performance.now();
      await h.scheduler.start();
      const startMs = performance.now() - started;
      await h.clock.advance(MINUTE);
      await until(() => h.runner.calls.length >= n);
      const ids = new Set(h.runner.calls.map((c) => c.task.id));
      assert.equal(ids.size, n);
      assert.equal(h.runner.calls.length, n);
      assert.ok(h.runner.calls.every((c) => c.run.slot === T0 + MINUTE && c.atMs === T0 + MINUTE));
      assert.ok(h.observed.claimBatches.length <= 20, `claimed in ${h.observed.claimBatches.length} batches`);
      assert.ok(startMs < 5000, `start-up took ${startMs} ms`);
      await h.clock.advance(10 * MINUTE);
      await until(() => h.runner.calls.length >= 2 * n);
      assert.equal(h.runner.calls.length, 2 * n);
    } finally {
      await h.close();
    }
  });
});

describe('two schedulers on one store', () => {
  it('never run a slot twice, also when their clocks disagree', async () => {
    const a = await createHarness({ config: { instanceId: 'director-a' } });
    const b = await createHarness({ file: a.file, clock: new FakeClock(T0 + 3), config: { instanceId: 'director-b' } });
    try {
      for (let i = 0; i < 50; i++) await a.put({ id: `t${i}`, running: true, init: T0, interval: 10 * SECOND });
      await a.scheduler.start();
      await b.scheduler.start();
      for (let step = 0; step < 60; step++) {
        // Who wakes first alternates, as it would between two machines.
        const [first, second] = Math.floor(step / 10) % 2 === 0 ? [a, b] : [b, a];
        await first.clock.advance(SECOND);
        await second.clock.advance(SECOND);
      }
      await settle(50);
      const slots = [...a.runner.calls, ...b.runner.calls].map((c) => `${c.task.id}@${c.run.slot}`);
      assert.equal(new Set(slots).size, slots.length, 'a slot ran twice');
      assert.equal(slots.length, 50 * 6);
      assert.ok(a.runner.calls.length > 0 && b.runner.calls.length > 0, 'both took part');
    } finally {
      await b.scheduler.stop();
      await b.store.close();
      await a.close();
    }
  });
});

describe('changes made by another replica', () => {
  it('are picked up by a re-read: a created task runs, a stopped one stops, a deleted one goes', async () => {
    const a = await createHarness({ config: { instanceId: 'director-a' } });
    const b = await createHarness({ file: a.file, clock: a.clock, config: { instanceId: 'director-b' } });
    try {
      await a.scheduler.start();
      await b.put({ id: 'new', running: true, init: T0, interval: MINUTE });
      await b.put({ id: 'gone', running: true, init: T0, interval: MINUTE });
      await a.scheduler.reconcile();
      await a.advance(MINUTE);
      assert.deepEqual([dispatchedAt(a, 'new'), dispatchedAt(a, 'gone')], [[1], [1]]);
      await b.put({ id: 'new', running: false, init: T0, interval: MINUTE });
      await b.store.deleteTask('gone');
      await a.scheduler.reconcile();
      await a.advance(3 * MINUTE);
      assert.deepEqual([dispatchedAt(a, 'new'), dispatchedAt(a, 'gone')], [[1], [1]]);
      assert.equal(a.scheduler.nextExecution('new'), undefined);
    } finally {
      await b.store.close();
      await a.close();
    }
  });
});

describe('lease keeper', () => {
  it('renews the leases of this process\'s running runs before they run out', async () => {
    const h = await createHarness();
    const keeper = createLeaseKeeper({ config: h.config, store: h.store, held: h.held, clock: h.clock, events: h.events, logger: createLogger('silent') });
    try {
      const [run] = await h.store.claimSlots([{ taskId: 'mine', slot: T0, owner: h.config.instanceId, nowMs: h.clock.now(), leaseMs: h.config.leaseMs }]);
      h.held.hold(run);
      keeper.start();
      await h.advance(3 * h.config.leaseMs);
      const renewed = await h.store.getRun(run!.id);
      assert.equal(renewed?.status, 'running', 'never declared lost while this process renews it');
      assert.ok((renewed?.leaseUntilMs ?? 0) > h.clock.now(), 'the lease reaches past now');
    } finally {
      await keeper.stop();
      await h.close();
    }
  });

  it('declares the run of a replica that stopped renewing lost, and the task with retries runs it again', async () => {
    const h = await createHarness();
    const keeper = createLeaseKeeper({ config: h.config, store: h.store, held: h.held, clock: h.clock, events: h.events, logger: createLogger('silent') });
    try {
      await h.put({ id: 'a', running: true, init: T0, interval: HOUR, retries: { max: 1, backoffMs: SECOND } });
      await h.scheduler.start();
      // A replica that died right after claiming slot 0 (its lease runs out at T0 + 1 s).
      await h.store.claimSlots([{ taskId: 'a', slot: T0, owner: 'director-dead', nowMs: T0, leaseMs: SECOND }]);
      keeper.start();
      const lost = h.events.next('run:finished', (run) => run.status === 'lost');
      await h.advance(10 * SECOND);
      assert.equal((await lost).owner, 'director-dead');
      await h.advance(SECOND);
      assert.deepEqual(h.runner.dispatched('a'), [{ slot: T0, attempt: 2 }]);
    } finally {
      await keeper.stop();
      await h.close();
    }
  });
});
