// Overlap policies and retries with backoff, with runs held open by the recording runner.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, dispatchedAt, MINUTE, SECOND, T0, type Harness } from './testing/scheduler-harness.js';

let h: Harness;

beforeEach(async () => {
  h = await createHarness();
  await h.scheduler.start();
  h.runner.behaviour = () => 'hold';
});

afterEach(async () => {
  await h.close();
});

const at = (slot: number | null): number => ((slot ?? Number.NaN) - T0) / MINUTE;

async function rows(id: string) {
  return (await h.runsOf(id)).map((r) => [at(r.slot), r.attempt, r.status]);
}

describe('overlap', () => {
  it('records a slot as skipped while the previous run is still going under skip (the default)', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(3 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);
    const skipped = (await h.runsOf('a')).filter((r) => r.status === 'skipped');
    assert.deepEqual(skipped.map((r) => at(r.slot)), [2, 3]);
    assert.match(skipped[0]?.logs ?? '', /previous run is still going/);
    await h.runner.finish(h.runner.heldRuns()[0]!.id);
    await h.advance(MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 4]);
  });

  it('runs slots alongside the previous run under allow', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE, overlap: 'allow' });
    await h.advance(3 * MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2, 3]);
    assert.equal(h.runner.heldRuns().length, 3);
  });

  it('queues one slot behind the running one under queue, skips the rest, and runs it when the first ends', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE, overlap: 'queue' });
    await h.advance(3 * MINUTE + 30 * SECOND);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);
    assert.equal(h.scheduler.stats('a')?.waitingSlots, 1);
    await h.runner.finish(h.runner.heldRuns()[0]!.id);
    await h.advance(0);
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 2]);
    await h.runner.finish(h.runner.heldRuns()[0]!.id);
    const runs = await h.runsOf('a');
    assert.deepEqual(runs.map((r) => [at(r.slot), r.status]).sort((x, y) => (x[0] as number) - (y[0] as number)), [[1, 'succeeded'], [2, 'succeeded'], [3, 'skipped']]);
    // The queued slot keeps its slot; its lateness shows the wait.
    assert.equal(runs.find((r) => at(r.slot) === 2)?.latenessMs, 90 * SECOND);
  });

  it('records a queued slot as skipped when its task is stopped', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE, overlap: 'queue' });
    await h.advance(2 * MINUTE);
    await h.put({ id: 'a', running: false, init: T0, interval: MINUTE, overlap: 'queue' });
    await h.runner.finish(h.runner.heldRuns()[0]!.id);
    await h.advance(MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);
    const queued = (await h.runsOf('a')).find((r) => at(r.slot) === 2);
    assert.equal(queued?.status, 'skipped');
  });
});

describe('retries', () => {
  it('retries a failed run with exponential backoff, each attempt its own run row', async () => {
    h.runner.behaviour = () => 'failed';
    await h.put({ id: 'a', running: true, init: T0, interval: 10 * MINUTE, retries: { max: 2, backoffMs: 1000 } });
    await h.advance(10 * MINUTE);
    await h.advance(999);
    assert.equal(h.runner.calls.length, 1);
    await h.advance(1);
    assert.equal(h.runner.calls.length, 2);
    await h.advance(1999);
    assert.equal(h.runner.calls.length, 2);
    await h.advance(1);
    await h.advance(60 * SECOND);
    assert.deepEqual(h.runner.dispatched('a').map((c) => c.attempt), [1, 2, 3]);
    assert.deepEqual(await rows('a'), [[10, 1, 'failed'], [10, 2, 'failed'], [10, 3, 'failed']]);
  });

  it('retries a timed-out run and stops retrying once an attempt succeeds', async () => {
    let n = 0;
    h.runner.behaviour = () => (n++ === 0 ? 'timed_out' : 'succeeded');
    await h.put({ id: 'a', running: true, init: T0, interval: 10 * MINUTE, retries: { max: 5, backoffMs: 500 } });
    await h.advance(10 * MINUTE + 10 * SECOND);
    assert.deepEqual(await rows('a'), [[10, 1, 'timed_out'], [10, 2, 'succeeded']]);
  });

  it('drops a pending retry as skipped when the next slot comes under overlap skip', async () => {
    h.runner.behaviour = () => 'failed';
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE, retries: { max: 3, backoffMs: 50 * SECOND } });
    await h.advance(MINUTE);
    await h.advance(MINUTE);
    // Slot 1 failed; its retry would come at 1:50, after slot 2 at 2:00: the slot wins.
    const table = await rows('a');
    assert.deepEqual(table.slice(0, 2), [[1, 1, 'failed'], [1, 2, 'failed']]);
    await h.advance(0);
    assert.deepEqual(h.runner.dispatched('a').map((c) => [at(c.slot), c.attempt]), [[1, 1], [1, 2], [2, 1]]);
    const dropped = (await h.runsOf('a')).find((r) => at(r.slot) === 1 && r.attempt === 3);
    assert.equal(dropped?.status, 'skipped');
    assert.match(dropped?.logs ?? '', /retry dropped/);
  });

  it('does not retry without a retries setting', async () => {
    h.runner.behaviour = () => 'failed';
    await h.put({ id: 'a', running: true, init: T0, interval: 10 * MINUTE });
    await h.advance(15 * MINUTE);
    assert.equal(h.runner.calls.length, 1);
  });

  it('retries a run declared lost when its task has retries', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: 10 * MINUTE, retries: { max: 1, backoffMs: 1000 } });
    await h.advance(10 * MINUTE);
    const [first] = h.runner.heldRuns();
    const lost = await h.store.abandonRun(first!.id, 'lost', { stage: 'executor', name: 'LeaseExpired', message: 'gone' }, h.clock.now());
    h.events.emit('run:finished', lost!);
    await h.advance(1000);
    assert.deepEqual(h.runner.dispatched('a').map((c) => c.attempt), [1, 2]);
  });
});
