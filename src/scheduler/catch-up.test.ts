// Catch-up planning: what runs of the overdue slots under skip, once and all.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planCatchUp, type CatchUpInput } from './catch-up.js';

const T0 = Date.UTC(2030, 0, 1);
const MIN = 60_000;
const spec = { initMs: T0, endMs: null, intervalMs: MIN };

function plan(overrides: Partial<CatchUpInput>) {
  return planCatchUp({ spec, policy: 'skip', handledMs: T0, overdueUntilMs: T0 + 10 * MIN + 5, max: 100, cause: 'down', ...overrides });
}

describe('planCatchUp', () => {
  it('runs nothing under skip after downtime and records the newest missed slot', () => {
    assert.deepEqual(plan({ policy: 'skip' }), { run: [], missed: 10, missedLatest: T0 + 10 * MIN, resumeAfterMs: T0 + 10 * MIN });
  });

  it('runs only the newest overdue slot under once', () => {
    assert.deepEqual(plan({ policy: 'once' }), { run: [T0 + 10 * MIN], missed: 9, missedLatest: T0 + 9 * MIN, resumeAfterMs: T0 + 10 * MIN });
  });

  it('runs every overdue slot under all, oldest first', () => {
    const result = plan({ policy: 'all' });
    assert.deepEqual(result.run, Array.from({ length: 10 }, (_, i) => T0 + (i + 1) * MIN));
    assert.equal(result.missed, 0);
    assert.equal(result.missedLatest, undefined);
  });

  it('bounds all by max: the newest slots run, the older ones are missed', () => {
    const result = plan({ policy: 'all', max: 3 });
    assert.deepEqual(result.run, [T0 + 8 * MIN, T0 + 9 * MIN, T0 + 10 * MIN]);
    assert.equal(result.missed, 7);
    assert.equal(result.missedLatest, T0 + 7 * MIN);
  });

  it('treats skip like once when Director was running but woke late', () => {
    const result = plan({ policy: 'skip', cause: 'late' });
    assert.deepEqual(result.run, [T0 + 10 * MIN]);
    assert.equal(result.missed, 9);
  });

  it('has nothing to do when no slot is overdue', () => {
    assert.deepEqual(plan({ overdueUntilMs: T0 + MIN - 1 }), { run: [], missed: 0, missedLatest: undefined, resumeAfterMs: T0 });
    assert.deepEqual(plan({ handledMs: T0 + 20 * MIN }), { run: [], missed: 0, missedLatest: undefined, resumeAfterMs: T0 + 20 * MIN });
  });

  it('runs the single due slot of an on-time wake-up under every policy', () => {
    for (const policy of ['skip', 'once', 'all'] as const) {
      const result = plan({ policy, cause: 'late', handledMs: T0 + MIN - 1, overdueUntilMs: T0 + MIN + 3 });
      assert.deepEqual(result, { run: [T0 + MIN], missed: 0, missedLatest: undefined, resumeAfterMs: T0 + MIN });
    }
  });

  it('does not count slots at or after end', () => {
    const ending = { ...spec, endMs: T0 + 3 * MIN };
    assert.deepEqual(plan({ spec: ending, policy: 'all' }).run, [T0 + MIN, T0 + 2 * MIN]);
  });
});
