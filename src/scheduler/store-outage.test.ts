// The store becomes unreachable: the scheduler stops claiming, says why, and catches up once it answers.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, dispatchedAt, MINUTE, SECOND, T0, type Harness } from './testing/scheduler-harness.js';

let h: Harness;

beforeEach(async () => {
  h = await createHarness();
  await h.scheduler.start();
});

afterEach(async () => {
  h.observed.setUnreachable(false);
  await h.close();
});

describe('store outage', () => {
  it('pauses claiming, reports why, and runs the newest overdue slot once the store answers', async () => {
    await h.put({ id: 'a', running: true, init: T0, interval: MINUTE });
    await h.advance(MINUTE);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);
    h.observed.setUnreachable(true);
    await h.advance(3 * MINUTE + 10 * SECOND);
    assert.match(h.scheduler.claimsPausedReason() ?? '', /^database unreachable since .*: Connection terminated unexpectedly$/);
    // One claim failed, then only the probe knocks (with a capped backoff), not every wake-up.
    assert.equal(h.observed.failedCalls.filter((c) => c === 'claimSlots').length, 1);
    assert.ok(h.observed.failedCalls.filter((c) => c === 'now').length <= 3 * 60 / 5 + 6);
    assert.deepEqual(dispatchedAt(h, 'a'), [1]);

    h.observed.setUnreachable(false);
    await h.advance(5 * SECOND);
    assert.equal(h.scheduler.claimsPausedReason(), undefined);
    await h.advance(MINUTE);
    // Slots 2 and 3 were missed (one skipped row tells it); 4, overdue, runs late; then on time again.
    assert.deepEqual(dispatchedAt(h, 'a'), [1, 4, 5]);
    const rows = (await h.runsOf('a')).map((r) => [(r.slot! - T0) / MINUTE, r.status]);
    assert.deepEqual(rows, [[1, 'succeeded'], [3, 'skipped'], [4, 'succeeded'], [5, 'succeeded']]);
  });

  it('a slot whose claim failed just before its instant still runs when the store is back in time', async () => {
    await h.put({ id: 'b', running: true, init: T0, interval: MINUTE });
    await h.advance(MINUTE - 50);
    h.observed.setUnreachable(true);
    await h.advance(100); // the claim of slot 1, at its instant (a new task is not claimed ahead), fails
    assert.notEqual(h.scheduler.claimsPausedReason(), undefined);
    h.observed.setUnreachable(false);
    await h.advance(SECOND);
    assert.deepEqual(dispatchedAt(h, 'b'), [1]);
    assert.ok(((await h.runsOf('b'))[0]?.latenessMs ?? Infinity) < SECOND);
  });
});
