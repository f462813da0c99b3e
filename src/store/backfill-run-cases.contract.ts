// Store contract, backfill runs among a task's runs: the live schedule's reads leave them out (catch-up,
// overlap, failure streaks), history keeps them, and retention spares them while their backfill is active.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimBackfill, createdBackfill, newBackfill, REQUESTED } from './backfill-cases.contract.js';
import { claimOne, failed, finishedRun, MINUTE, succeeded, T0, uniqueId, type ContractContext } from './store-fixtures.contract.js';

export function describeBackfillRunCases(ctx: ContractContext): void {
  describe('backfill runs and the live schedule', () => {
    it('latestSlots and runningRuns leave backfill runs out', async () => {
      const store = ctx.store();
      const taskId = uniqueId('bf-live');
      const scheduled = await claimOne(store, taskId, T0 + MINUTE);
      const backfill = await createdBackfill(store, newBackfill(taskId, T0, T0 + 10 * MINUTE));
      await claimBackfill(store, backfill, [T0 + 5 * MINUTE, T0 + 6 * MINUTE], T0 + 7 * MINUTE);
      const onlyBackfilled = uniqueId('bf-live-only');
      await claimBackfill(store, await createdBackfill(store, newBackfill(onlyBackfilled, T0, T0 + MINUTE)), [T0], null);
      const latest = await store.latestSlots();
      assert.equal(latest.get(taskId), T0 + MINUTE);
      assert.equal(latest.has(onlyBackfilled), false);
      assert.deepEqual((await store.runningRuns([taskId, onlyBackfilled])).map((r) => r.id), [scheduled]);
    });

    it('failure streaks (runStats, failuresBefore) ignore backfill runs; counts and the last run include them', async () => {
      const store = ctx.store();
      const taskId = uniqueId('bf-streak');
      const backfill = await createdBackfill(store, newBackfill(taskId, T0, T0 + 10 * MINUTE));
      await finishedRun(store, taskId, 'failed', T0);
      await finishedRun(store, taskId, 'failed', T0 + 1);
      // A backfill success between failures breaks no streak; a backfill failure adds nothing to it.
      const [backfillOk] = await claimBackfill(store, backfill, [T0], T0 + MINUTE);
      await store.finishRun(backfillOk as number, succeeded(REQUESTED + 20, 5));
      await finishedRun(store, taskId, 'timed_out', T0 + 2);
      const [backfillBad] = await claimBackfill(store, backfill, [T0 + MINUTE], T0 + 2 * MINUTE);
      await store.finishRun(backfillBad as number, failed(REQUESTED + 30, 5));
      const stats = await store.runStats(taskId);
      assert.equal(stats.consecutiveFailures, 3);
      assert.deepEqual(stats.counts, { running: 0, succeeded: 1, failed: 3, timed_out: 1, skipped: 0, lost: 0 });
      assert.equal(stats.lastRun?.id, backfillBad);
      const recovered = await finishedRun(store, taskId, 'succeeded', T0 + 3);
      assert.equal(await store.failuresBefore(taskId, recovered), 3);
      assert.equal((await store.runStats(taskId)).consecutiveFailures, 0);
    });

    it("trimRuns keeps an active backfill's runs, without their pushing others out, and trims them once it ended", async () => {
      const store = ctx.store();
      // Earlier cases left runs behind; trimming once with the same options first makes the count exact.
      await store.trimRuns({ keepPerTask: 1, olderThanMs: null });
      const taskId = uniqueId('bf-trim');
      await finishedRun(store, taskId, 'succeeded', T0 + 1);
      const kept = await finishedRun(store, taskId, 'succeeded', T0 + 2);
      // Newer than both: were they ranked, the newest scheduled run would be pushed out too.
      const backfill = await createdBackfill(store, newBackfill(taskId, T0, T0 + 3 * MINUTE));
      const backfillRuns = await claimBackfill(store, backfill, [T0, T0 + MINUTE, T0 + 2 * MINUTE], null);
      for (const id of backfillRuns) await store.finishRun(id, succeeded(REQUESTED + 20, 5));
      assert.equal(await store.trimRuns({ keepPerTask: 1, olderThanMs: null }), 1);
      assert.deepEqual((await store.listRuns(taskId)).map((r) => r.id), [...[...backfillRuns].reverse(), kept]);
      await store.trimRuns({ keepPerTask: 0, olderThanMs: REQUESTED + 1000 });
      assert.deepEqual((await store.listRuns(taskId)).map((r) => r.id), [...backfillRuns].reverse());

      const done = await store.endBackfill(backfill.id, { status: 'completed', version: 1, nowMs: REQUESTED + 99 });
      assert.equal(done?.counts?.succeeded, 3);
      await store.trimRuns({ keepPerTask: 1, olderThanMs: null });
      assert.deepEqual((await store.listRuns(taskId)).map((r) => r.id), [backfillRuns[2]]);
      assert.deepEqual(await store.getBackfill(backfill.id), done, 'its counts stay as frozen');
    });
  });
}
