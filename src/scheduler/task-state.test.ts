// A task's schedule state moves only through its transitions, and its phase always matches its work.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRecord } from '../domain/run.js';
import { parseTask } from '../domain/task.js';
import {
  aheadDone, aheadTaken, claimedElsewhere, endReached, hasBacklog, isDraining, isIdle, newTaskState, nextWaitingTaken, queuedRuns,
  ranHere, retryCleared, retryPlanned, runBegun, runEnded, slotMissed, slotsHandled, slotWaits, taskReplaced, waitingCancelled,
  waitingClaimed, waitingWithdrawn, workOf, type TaskState,
} from './task-state.js';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const task = (doc: Record<string, unknown> = {}) =>
  parseTask({ id: 't', script: 'http://assets.test/a.js', running: true, init: new Date(T0).toISOString(), interval: MINUTE, ...doc }, { fallbackId: 't', createdMs: T0, nowMs: T0 });
const run = (id: number, slot: number): RunRecord => ({
  id, taskId: 't', slot, attempt: 1, trigger: 'schedule', backfillId: null, status: 'running', owner: 'a', createdMs: slot, queuedMs: null, startedMs: slot,
  finishedMs: null, durationMs: null, latenessMs: 0, result: null, error: null, logs: null, scriptUrl: null, scriptSha256: null, leaseUntilMs: null,
});
const timer = { cancel: () => undefined };
const fresh = (): TaskState => newTaskState(task(), undefined);

describe('task state', () => {
  it('starts planned and idle, with nothing handled', () => {
    const state = fresh();
    assert.equal(state.phase.kind, 'planned');
    assert.ok(isIdle(state));
    assert.deepEqual(workOf(state), { active: 0, waiting: [], retry: undefined });
  });

  it('is running while a run goes and planned again once it ends', () => {
    const running = runBegun(fresh());
    assert.equal(running.phase.kind, 'running');
    assert.equal(workOf(running).active, 1);
    assert.ok(!isIdle(running));
    const done = runEnded(running);
    assert.equal(done.phase.kind, 'planned');
    assert.ok(isIdle(done));
  });

  it('never changes a state in place', () => {
    const before = fresh();
    const after = slotWaits(runBegun(before), { kind: 'queued', slot: T0 });
    assert.equal(before.phase.kind, 'planned');
    assert.notEqual(after, before);
  });

  it('moves a queued slot from claiming to claimed, and withdraws only a claim in flight', () => {
    let state = slotWaits(runBegun(fresh()), { kind: 'claiming', slot: T0 + MINUTE });
    assert.equal(queuedRuns(state), 1);
    assert.deepEqual(waitingWithdrawn(state, T0 + 2 * MINUTE), state, 'another slot: nothing withdrawn');
    state = waitingClaimed(state, T0 + MINUTE, run(7, T0 + MINUTE));
    assert.deepEqual(workOf(state).waiting, [{ kind: 'claimed', slot: T0 + MINUTE, run: run(7, T0 + MINUTE) }]);
    assert.deepEqual(workOf(waitingWithdrawn(state, T0 + MINUTE)).waiting.length, 1, 'a claimed slot is not withdrawn');
  });

  it('counts catch-up slots as backlog, not as queued runs', () => {
    const state = slotWaits(runBegun(fresh()), { kind: 'queued', slot: T0 });
    assert.ok(hasBacklog(state));
    assert.equal(queuedRuns(state), 0);
  });

  it('hands the first waiting slot over only once the task is idle and its claim answered', () => {
    const claiming = slotWaits(runBegun(fresh()), { kind: 'claiming', slot: T0 });
    assert.equal(nextWaitingTaken(claiming).next, undefined, 'a run is going');
    const stillClaiming = runEnded(claiming);
    assert.equal(stillClaiming.phase.kind, 'running', 'a waiting slot keeps the task running');
    assert.equal(nextWaitingTaken(stillClaiming).next, undefined, 'its claim is in flight');
    const claimed = waitingClaimed(stillClaiming, T0, run(1, T0));
    const taken = nextWaitingTaken(claimed);
    assert.deepEqual(taken.next, { kind: 'claimed', slot: T0, run: run(1, T0) });
    assert.equal(workOf(taken.state).active, 1, 'its run is counted as begun');
    assert.equal(workOf(taken.state).waiting.length, 0);
  });

  it('waits for a pending retry before a waiting slot', () => {
    const state = retryPlanned(slotWaits(fresh(), { kind: 'queued', slot: T0 }), { slot: T0 - MINUTE, attempt: 2, timer });
    assert.equal(nextWaitingTaken(state).next, undefined);
    assert.equal(nextWaitingTaken(retryCleared(state)).next?.slot, T0);
  });

  it('cancels what waits: claimed runs are handed back, catch-up slots count as missed', () => {
    let state = runBegun(fresh());
    state = slotWaits(state, { kind: 'claimed', slot: T0, run: run(3, T0) });
    state = slotWaits(state, { kind: 'queued', slot: T0 + MINUTE });
    state = slotWaits(state, { kind: 'claiming', slot: T0 + 2 * MINUTE });
    const cancelled = waitingCancelled(state);
    assert.deepEqual(cancelled.runs.map((r) => r.id), [3]);
    assert.equal(cancelled.state.missed, 1);
    assert.deepEqual(workOf(cancelled.state).waiting, []);
    assert.equal(cancelled.state.phase.kind, 'running', 'the run going still counts');
  });

  it('ends at once when nothing is left, and drains first otherwise', () => {
    assert.equal(endReached(fresh()).phase.kind, 'ended');
    const draining = endReached(runBegun(fresh()));
    assert.equal(draining.phase.kind, 'draining');
    assert.ok(isDraining(draining));
    assert.equal(runEnded(draining).phase.kind, 'ended');
  });

  it('stays ended whatever comes after', () => {
    const ended = endReached(fresh());
    assert.equal(runBegun(ended), ended);
    assert.equal(slotWaits(ended, { kind: 'queued', slot: T0 }), ended);
  });

  it('keeps the newest handled slot and adds up missed slots', () => {
    let state = slotsHandled(fresh(), T0 + 5 * MINUTE, 3);
    state = slotsHandled(state, T0 + MINUTE);
    assert.equal(state.lastHandled, T0 + 5 * MINUTE, 'a handled slot is never handled again, even when asked with an older one');
    assert.equal(slotMissed(state).missed, 4);
  });

  it('knows whether a run of the task may be going elsewhere', () => {
    const here = ranHere(fresh());
    assert.ok(here.knownIdle);
    assert.ok(!claimedElsewhere(here).knownIdle);
  });

  it('keeps the slots taken ahead in order and drops those off a replaced task\'s grid', () => {
    let state = aheadTaken(aheadTaken(fresh(), T0 + MINUTE), T0 + 2 * MINUTE);
    assert.deepEqual(aheadDone(state, T0 + MINUTE).aheadSlots, [T0 + 2 * MINUTE]);
    state = taskReplaced(state, task({ interval: 2 * MINUTE }));
    assert.deepEqual(state.aheadSlots, [T0 + 2 * MINUTE]);
    assert.equal(state.task.intervalMs, 2 * MINUTE);
  });
});
