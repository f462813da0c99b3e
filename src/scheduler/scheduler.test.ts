// The scheduler on a fake clock and real SQLite: slots, changes, end, clock jumps.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../lib/testing/fake-clock.js';
import { PREPARE_AHEAD_MS, PREFETCH_AHEAD_MS } from './prepare-ahead.js';
import { createHarness, dispatchedAt, DAY, HOUR, MINUTE, SECOND, T0, type Harness } from './testing/scheduler-harness.js';

let h: Harness;

beforeEach(async () => {
  h = await createHarness();
  await h.scheduler.start();
});

afterEach(async () => {
  await h.close();
});

describe('slots', () => {
  it('runs a task at init + k·interval, on time, once per slot', async () => {
    await h.put({ id: 'a', running: true, init: T0 + MINUTE, interval: MINUTE });
    await h.advance(4 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2, 3, 4]);
    const runs = await h.runsOf('a');
    assert.deepEqual(runs.map((r) => [r.status, r.attempt, r.latenessMs]), Array(4).fill(['succeeded', 1, 0]));
  });

  it('starts with the next slot after creation when init is in the past, without replaying', async () => {
    await h.advance(90 * SECOND);
    await h.put({ id: 'a', running: true, init: T0 - HOUR, interval: MINUTE });
    await h.advance(2 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [2, 3]);
  });

  it('runs slots exactly across an interval longer than a Node timer can hold', async () => {
    const interval = 40 * DAY; // > 2^31−1 ms
    await h.put({ id: 'long', running: true, init: T0, interval });
    await h.advance(interval - 1);
    assert.deepEqual(dispatchedAt(h, 'long', DAY), []);
    await h.advance(1);
    await h.advance(interval);
    assert.deepEqual(dispatchedAt(h, 'long', DAY), [40, 80]);
    assert.deepEqual((await h.runsOf('long')).map((r) => r.latenessMs), [0, 0]);
  });

  it('never runs a stopped or on-demand task', async () => {
    await h.put({ id: 'stopped', running: false, init: T0, interval: MINUTE });
    await h.put({ id: 'on-demand', running: true, init: T0 });
    await h.advance(5 * MINUTE);
    assert.equal(h.runner.calls.length, 0);
    assert.equal(h.scheduler.nextExecution('stopped'), undefined);
  });

  it('tells the next execution and previews the next slots, also of a stopped task', async () => {
    const task = await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    assert.equal(h.scheduler.nextExecution('a'), T0 + MINUTE);
    assert.deepEqual(h.scheduler.previewSlots(task, 3), [T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
    const stopped = await h.put({ id: 'a', running: false, init: T0, interval: MINUTE });
    assert.equal(h.scheduler.nextExecution('a'), undefined);
    assert.deepEqual(h.scheduler.previewSlots(stopped, 2), [T0 + MINUTE, T0 + 2 * MINUTE]);
  });
});

describe('changes', () => {
  it('re-plans at once when the interval changes mid-flight', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(2 * MINUTE + 30 * SECOND);
    await h.put({ id: 'a', running: true, init: T0, interval: 20 * SECOND });
    await h.advance(MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a', SECOND), [60, 120, 160, 180, 200]);
  });

  it('runs nothing after a stop, and resumes at the next slot after a start without replay', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(MINUTE + 30 * SECOND);
    await h.put({ id: 'a', running: false, init: T0, interval: MINUTE });
    await h.advance(5 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(2 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 7, 8]);
  });

  it('runs nothing after a delete and keeps the run history', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(MINUTE);
    await h.remove('a');
    await h.advance(10 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);
    assert.equal((await h.runsOf('a')).length, 1);
    assert.equal(h.scheduler.nextExecution('a'), undefined);
  });

  it('records a slot as skipped instead of running it when a stop lands while its claim is in flight', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    h.observed.hold();
    await h.advance(MINUTE);
    assert.equal(h.observed.claimBatches.length, 1, 'the claim is in flight');
    await h.put({ id: 'a', running: false, init: T0, interval: MINUTE });
    h.observed.release();
    await settle(20);
    assert.equal(h.runner.calls.length, 0);
    const [run] = await h.runsOf('a');
    assert.equal(run?.status, 'skipped');
    assert.match(run?.error?.message ?? '', /stopped, deleted or rescheduled/);
  });

  it('keeps a due slot whose wake-up has not fired yet when an unrelated edit lands at that instant', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    h.clock.set(T0 + MINUTE + 5); // the timer is due but has not fired
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE, config: { changed: true } });
    await h.advance(0);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);
    assert.deepEqual(h.runner.calls[0]?.task.doc.config, { changed: true });
  });
});

describe('end', () => {
  it('deletes a running task once its end has passed and keeps its runs', async () => {
    const ended = h.events.next('task:changed', (e) => e.change === 'ended');
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE, end: T0 + 3 * MINUTE });
    await h.advance(5 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2]);
    assert.equal(await h.store.getTask('a'), undefined);
    assert.deepEqual(await ended, { id: 'a', change: 'ended' });
    assert.equal((await h.runsOf('a')).length, 2);
  });

  it('deletes on time at end even when the next slot would be years away', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: 365 * DAY, end: T0 + HOUR });
    await h.advance(HOUR - 1);
    assert.notEqual(await h.store.getTask('a'), undefined);
    await h.advance(1);
    assert.equal(await h.store.getTask('a'), undefined);
  });

  it('keeps a stopped task past its end', async () => {
    await h.put({ id: 'a', running: false, init: T0, interval: MINUTE, end: T0 + 2 * MINUTE });
    await h.advance(10 * MINUTE);
    assert.notEqual(await h.store.getTask('a'), undefined);
  });
});

describe('clock jumps', () => {
  it('does not run a slot twice when the clock goes backwards', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(2 * MINUTE);
    h.clock.set(T0 - 10 * MINUTE);
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE, config: { touched: 1 } });
    await h.advance(13 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2, 3]);
  });

  it('does not run a slot twice when a restarted scheduler finds the clock behind', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(2 * MINUTE);
    await h.scheduler.stop();
    h.clock.set(T0 - 5 * MINUTE);
    await h.scheduler.start();
    await h.advance(8 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2, 3]);
  });

  it('runs the newest overdue slot and records the rest as missed when it wakes late', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    h.clock.set(T0 + 5 * MINUTE + 10 * SECOND); // a frozen event loop or a suspended machine
    await h.advance(0);
    assert.deepEqual(dispatchedAt(h, 'a'), [5]);
    assert.equal(h.scheduler.stats('a')?.missedSlots, 4);
    const runs = await h.runsOf('a');
    const bySlot = runs.map((r) => [(r.slot! - T0) / MINUTE, r.status]).sort((x, y) => (x[0] as number) - (y[0] as number));
    assert.deepEqual(bySlot, [[4, 'skipped'], [5, 'succeeded']]);
    assert.ok(runs.some((r) => r.status === 'skipped' && r.slot === T0 + 4 * MINUTE && /missed 4 slots/.test(r.logs ?? '')));
  });
});

describe('claiming ahead', () => {
  it('claims a coming slot shortly before its instant and starts the run exactly at it', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(MINUTE); // the first slot of a new task is decided at its instant
    const claimed = h.events.next('slot:claimed', (e) => e.slot === T0 + 2 * MINUTE);
    await h.advance(MINUTE - 150);
    assert.equal(h.runner.calls.length, 1);
    await h.advance(100);
    await claimed;
    assert.equal(h.scheduler.nextExecution('a'), T0 + 2 * MINUTE);
    assert.equal(h.runner.calls.length, 1);
    await h.advance(50);
    assert.deepEqual(h.runner.calls.map((c) => c.atMs - T0), [MINUTE, 2 * MINUTE]);
  });

  it('records a slot claimed ahead as skipped when its task is stopped before the instant', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(2 * MINUTE - 50);
    await h.put({ id: 'a', running: false, init: T0, interval: MINUTE });
    await h.advance(MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);
    const second = (await h.runsOf('a')).find((r) => r.slot === T0 + 2 * MINUTE);
    assert.equal(second?.status, 'skipped');
  });
});

describe('preparing runs ahead of their slots', () => {
  it('asks the runner to prepare each slot of a running task ahead of it, and nothing for a stopped one', async () => {
    await h.put({ id: 'soon', running: true, init: T0 + MINUTE, interval: MINUTE });
    await h.put({ id: 'stopped', running: false, init: T0 + MINUTE, interval: MINUTE });
    await h.advance(MINUTE - PREPARE_AHEAD_MS - 1);
    assert.deepEqual(h.runner.prepared, []);
    await h.advance(1);
    assert.deepEqual(h.runner.prepared, ['soon']);
    await h.advance(MINUTE);
    assert.deepEqual(h.runner.prepared, ['soon', 'soon'], 'the next slot is prepared too');
  });

  it('asks the runner to fetch each slot\'s script a second ahead, for that slot, and never after a stop or delete', async () => {
    await h.put({ id: 'soon', running: true, init: T0 + MINUTE, interval: MINUTE });
    await h.put({ id: 'deleted', running: true, init: T0 + MINUTE, interval: MINUTE });
    await h.put({ id: 'stopped', running: true, init: T0 + MINUTE, interval: MINUTE });
    await h.advance(MINUTE - PREFETCH_AHEAD_MS - 1);
    assert.deepEqual(h.runner.prefetched, []);
    await h.remove('deleted');
    await h.put({ id: 'stopped', running: false, init: T0 + MINUTE, interval: MINUTE });
    await h.advance(1);
    assert.deepEqual(h.runner.prefetched, [`soon@${T0 + MINUTE}`]);
    await h.advance(MINUTE);
    assert.deepEqual(h.runner.prefetched, [`soon@${T0 + MINUTE}`, `soon@${T0 + 2 * MINUTE}`]);
  });

  it('forgets what was prepared for a task that is deleted or replaced', async () => {
    await h.put({ id: 'a', running: true, init: T0 + MINUTE, interval: MINUTE });
    await h.put({ id: 'a', running: true, init: T0 + MINUTE, interval: 2 * MINUTE });
    await h.remove('a');
    assert.deepEqual(h.runner.forgotten, ['a', 'a']);
    await h.advance(3 * MINUTE);
    assert.deepEqual(h.runner.prepared, []);
  });
});
