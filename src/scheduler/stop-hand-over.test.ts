// Stopping with slots claimed ahead: a cluster replica runs them (no other replica may any more), a
// single Director records them as skipped (its schedule stops with it).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHarness, dispatchedAt, MINUTE, T0 } from './testing/scheduler-harness.js';

describe('stopping with slots claimed ahead', () => {
  it('a cluster replica runs the slot it claimed at its instant, and claims nothing more', async () => {
    const h = await createHarness({ sharing: { prefers: () => true, yieldMs: 30 } });
    try {
      await h.put({ id: 'a', running: true, init: T0 + MINUTE, interval: MINUTE });
      await h.scheduler.start();
      await h.advance(2 * MINUTE - 50); // slot 1 ran here, so slot 2 is claimed ahead (not yet due)
      assert.deepEqual((await h.runsOf('a')).map((r) => r.status), ['succeeded', 'running']);
      assert.deepEqual(dispatchedAt(h, 'a'), [1]);
      const stopping = h.scheduler.stop();
      await h.advance(60);
      await stopping;
      assert.deepEqual(dispatchedAt(h, 'a'), [1, 2], 'handed over at its instant');
      assert.equal(h.runner.calls[1]?.atMs, T0 + 2 * MINUTE);
      await h.advance(2 * MINUTE);
      assert.deepEqual((await h.runsOf('a')).map((r) => r.slot), [T0 + MINUTE, T0 + 2 * MINUTE], 'nothing claimed after the stop');
    } finally {
      await h.close();
    }
  });

  it('a single Director records it as skipped', async () => {
    const h = await createHarness();
    try {
      await h.put({ id: 'a', running: true, init: T0 + MINUTE, interval: MINUTE });
      await h.scheduler.start();
      await h.advance(2 * MINUTE - 50);
      await h.scheduler.stop();
      await h.advance(60);
      assert.deepEqual(dispatchedAt(h, 'a'), [1]);
      assert.deepEqual((await h.runsOf('a')).map((r) => r.status), ['succeeded', 'skipped']);
    } finally {
      await h.close();
    }
  });
});
