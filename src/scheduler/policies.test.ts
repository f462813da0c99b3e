// Overlap decisions and retry timing: the pure policy helpers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRecord } from '../domain/run.js';
import { decideOverlap } from './overlap.js';
import { retryDelayMs, shouldRetry } from './retries.js';

describe('decideOverlap', () => {
  it('runs a slot of an idle task under every policy', () => {
    for (const policy of ['skip', 'allow', 'queue'] as const) {
      assert.deepEqual(decideOverlap(policy, { active: 0, waiting: 0 }), { action: 'run' });
    }
  });

  it('skips a slot whose previous run is still going under skip', () => {
    assert.equal(decideOverlap('skip', { active: 1, waiting: 0 }).action, 'skip');
  });

  it('runs alongside under allow', () => {
    assert.equal(decideOverlap('allow', { active: 3, waiting: 0, remoteOwner: 'b' }).action, 'run');
  });

  it('queues one slot under queue and skips any further one', () => {
    assert.equal(decideOverlap('queue', { active: 1, waiting: 0 }).action, 'queue');
    assert.equal(decideOverlap('queue', { active: 1, waiting: 1 }).action, 'skip');
  });

  it('names the other replica when its run is the one still going', () => {
    const decision = decideOverlap('queue', { active: 0, waiting: 0, remoteOwner: 'host-b' });
    assert.deepEqual(decision, { action: 'skip', reason: 'overlap: the previous run is still going on host-b' });
  });
});

const run = (overrides: Partial<RunRecord>): RunRecord => ({
  id: 1, taskId: 't', slot: 1000, attempt: 1, trigger: 'schedule', backfillId: null, status: 'failed', owner: 'a', createdMs: 0,
  queuedMs: 0, startedMs: 0, finishedMs: 0, durationMs: 0, latenessMs: 0, result: null, error: null, logs: null,
  scriptUrl: null, scriptSha256: null, leaseUntilMs: null, ...overrides,
});

describe('retries', () => {
  const policy = { max: 2, backoffMs: 1000 };

  it('retries failed, timed-out and lost scheduled runs up to max retries', () => {
    assert.equal(shouldRetry(policy, run({ status: 'failed', attempt: 1 })), true);
    assert.equal(shouldRetry(policy, run({ status: 'timed_out', attempt: 2 })), true);
    assert.equal(shouldRetry(policy, run({ status: 'lost', attempt: 1 })), true);
    assert.equal(shouldRetry(policy, run({ status: 'failed', attempt: 3 })), false);
  });

  it('never retries successes, skips, manual runs or tasks without retries', () => {
    assert.equal(shouldRetry(policy, run({ status: 'succeeded' })), false);
    assert.equal(shouldRetry(policy, run({ status: 'skipped' })), false);
    assert.equal(shouldRetry(policy, run({ trigger: 'manual', slot: null })), false);
    assert.equal(shouldRetry(null, run({})), false);
  });

  it('backs off exponentially from backoffMs', () => {
    assert.deepEqual([1, 2, 3, 4].map((a) => retryDelayMs(policy, a)), [1000, 2000, 4000, 8000]);
    assert.equal(retryDelayMs({ max: 100, backoffMs: 1000 }, 100) <= 100 * 365 * 24 * 3600 * 1000, true);
  });
});
