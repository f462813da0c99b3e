// Catch-up after Director was down: skip, once and all (bounded), and what stays visible.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, dispatchedAt, HOUR, MINUTE, SECOND, T0, type Harness } from './testing/scheduler-harness.js';

let h: Harness;

beforeEach(async () => {
  h = await createHarness({ config: { catchUpMax: 5 } });
  await h.scheduler.start();
});

afterEach(async () => {
  await h.close();
});

/** Runs slots 1 and 2, then Director is down until 10.5 minutes, then starts again. */
async function downtime(catchUp: string): Promise<void> {
  await h.put({ id: 'a', running: true, init: T0, interval: MINUTE, catchUp });
  await h.advance(2 * MINUTE);
  await h.scheduler.stop();
  h.clock.set(T0 + 10 * MINUTE + 30 * SECOND);
  await h.scheduler.start();
  await h.advance(0);
}

describe('catch-up after downtime', () => {
  it('replays nothing under skip, records the newest missed slot and counts them all', async () => {
    await downtime('skip');
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2]);
    assert.equal(h.scheduler.stats('a')?.missedSlots, 8);
    const skipped = (await h.runsOf('a')).filter((r) => r.status === 'skipped');
    assert.deepEqual(skipped.map((r) => (r.slot! - T0) / MINUTE), [10]);
    assert.match(skipped[0]?.logs ?? '', /missed 8 slots while Director was not running/);
    await h.advance(MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2, 11]);
  });

  it('runs the newest missed slot once under once', async () => {
    await downtime('once');
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2, 10]);
    assert.equal(h.scheduler.stats('a')?.missedSlots, 7);
    await h.advance(MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2, 10, 11]);
  });

  it('runs missed slots one after another under all, at most catchUpMax, oldest beyond it missed', async () => {
    await downtime('all');
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2, 6, 7, 8, 9, 10]);
    assert.equal(h.scheduler.stats('a')?.missedSlots, 3);
    const skipped = (await h.runsOf('a')).filter((r) => r.status === 'skipped');
    assert.deepEqual(skipped.map((r) => (r.slot! - T0) / MINUTE), [5]);
  });

  it('keeps catch-up runs of one task in sequence under all: the next waits for the previous', async () => {
    h.runner.behaviour = (call) => (call.run.slot! >= T0 + 6 * MINUTE ? 'hold' : 'succeeded');
    await downtime('all');
    const held = () => h.runner.heldRuns().map((r) => (r.slot! - T0) / MINUTE);
    assert.deepEqual(held(), [6]);
    assert.equal(h.scheduler.stats('a')?.waitingSlots, 4);
    await h.runner.finish(h.runner.heldRuns()[0]!.id);
    await h.advance(0);
    assert.deepEqual(held(), [7]);
    assert.equal(h.scheduler.stats('a')?.waitingSlots, 3);
  });

  it('runs a slot that fell due just before start-up late instead of calling it missed', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(MINUTE);
    await h.scheduler.stop();
    h.clock.set(T0 + 2 * MINUTE + 500);
    await h.scheduler.start();
    await h.advance(0);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2]);
    const last = (await h.runsOf('a')).at(-1);
    assert.equal(last?.latenessMs, 500);
  });

  it('does not count slots before the last write as missed (a task started while Director was down)', async () => {
    await h.scheduler.stop();
    await h.store.putTask({ ...(await h.put({ id: 'b', running: true, init: T0 - HOUR, interval: MINUTE, catchUp: 'all' })), updatedMs: T0 + 30 * MINUTE });
    h.clock.set(T0 + 33 * MINUTE + 30 * SECOND);
    await h.scheduler.start();
    await h.advance(0);
    assert.deepEqual(dispatchedAt(h, 'b'), [31, 32, 33]);
  });

  it('runs the last missed slot once and then deletes a task whose end passed while Director was down', async () => {
    await h.put({ id: 'e', running: true, init: T0, interval: MINUTE, end: T0 + 5 * MINUTE, catchUp: 'once' });
    await h.advance(MINUTE);
    await h.scheduler.stop();
    h.clock.set(T0 + HOUR);
    await h.scheduler.start();
    await h.advance(0);
    assert.deepEqual(dispatchedAt(h, 'e'), [1, 4]);
    assert.equal(await h.store.getTask('e'), undefined);
  });
});
