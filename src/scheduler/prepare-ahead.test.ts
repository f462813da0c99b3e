import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { createPrepareAhead, PREFETCH_AHEAD_MS, prefetchLeadMs } from './prepare-ahead.js';

describe('prepare ahead', () => {
  test('prepares a task its lead before its slot, and at once when the slot is closer than the lead', async () => {
    const clock = new FakeClock(0);
    const prepared: string[] = [];
    const ahead = createPrepareAhead({ clock, prepare: (id) => prepared.push(`${id}@${clock.now()}`), leadMs: 1000 });
    ahead.plan('far', 5000);
    ahead.plan('near', 500);
    assert.deepEqual(prepared, ['near@0']);
    await clock.advance(3999);
    assert.deepEqual(prepared, ['near@0']);
    await clock.advance(1);
    assert.deepEqual(prepared, ['near@0', 'far@4000']);
  });

  test('a re-planned slot moves its preparation; a cancelled task is not prepared', async () => {
    const clock = new FakeClock(0);
    const prepared: string[] = [];
    const ahead = createPrepareAhead({ clock, prepare: (id) => prepared.push(`${id}@${clock.now()}`), leadMs: 1000 });
    ahead.plan('moved', 3000);
    ahead.plan('moved', 6000);
    ahead.plan('gone', 3000);
    ahead.cancel('gone');
    await clock.advance(10_000);
    assert.deepEqual(prepared, ['moved@5000']);
  });

  test('prepares nothing once stopped', async () => {
    const clock = new FakeClock(0);
    const prepared: string[] = [];
    const ahead = createPrepareAhead({ clock, prepare: (id) => prepared.push(id), leadMs: 1000 });
    ahead.plan('a', 3000);
    ahead.stop();
    ahead.plan('b', 100);
    await clock.advance(10_000);
    assert.deepEqual(prepared, []);
  });

  test('a slot may have its own lead, and the slot is what is prepared', async () => {
    const clock = new FakeClock(0);
    const prepared: string[] = [];
    const ahead = createPrepareAhead({ clock, prepare: (id, slotMs) => prepared.push(`${id}:${slotMs}@${clock.now()}`), leadMs: 1000 });
    ahead.plan('fast', 3000, 50);
    ahead.plan('usual', 3000);
    await clock.advance(10_000);
    assert.deepEqual(prepared, ['usual:3000@2000', 'fast:3000@2950']);
  });

  test('scripts are fetched a second ahead, or half the interval of a faster task, so a change between two runs reaches the next', () => {
    assert.equal(prefetchLeadMs(null), PREFETCH_AHEAD_MS);
    assert.equal(prefetchLeadMs(3_600_000), 1000);
    assert.equal(prefetchLeadMs(100), 50);
  });
});
