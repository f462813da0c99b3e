// Held runs: what this process's lease renewal covers, and what it leaves to expire.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunRecord } from '../domain/run.js';
import { DirectorEvents } from '../lib/events.js';
import { createHeldRuns } from './held-runs.js';

const run = (id: number, extra: Partial<RunRecord> = {}): RunRecord => ({
  id, taskId: 't', slot: 0, attempt: 1, trigger: 'schedule', backfillId: null, status: 'running', owner: 'me', createdMs: 0, queuedMs: null, startedMs: 0,
  finishedMs: null, durationMs: null, latenessMs: 0, result: null, error: null, logs: null, scriptUrl: null, scriptSha256: null, leaseUntilMs: 30_000, ...extra,
});

describe('held runs', () => {
  it('holds only running runs of its own owner, and nothing the store did not answer with', () => {
    const held = createHeldRuns('me');
    held.hold(run(1));
    held.hold(run(2, { owner: 'someone-else' }));
    held.hold(run(3, { status: 'skipped' }));
    held.hold(undefined);
    assert.deepEqual(held.ids(), [1]);
  });

  it('lets a run go once its end is written', () => {
    const held = createHeldRuns('me');
    held.hold(run(1));
    held.hold(run(2));
    held.release(1);
    assert.deepEqual(held.ids(), [2]);
  });

  it('follows the runner: held from run:started until run:finished', () => {
    const held = createHeldRuns('me');
    const events = new DirectorEvents();
    const stop = held.follow(events);
    events.emit('run:started', run(5, { trigger: 'manual', slot: null }));
    assert.deepEqual(held.ids(), [5]);
    events.emit('run:finished', run(5, { status: 'succeeded' }));
    assert.deepEqual(held.ids(), []);
    stop();
    events.emit('run:started', run(6));
    assert.deepEqual(held.ids(), [], 'no longer following');
  });
});
