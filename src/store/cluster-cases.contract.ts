// Store contract, what cluster mode relies on: the store's own clock and renewing only the runs held.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trackHeldRuns } from './held-runs.js';
import { claimOne, LEASE_MS, MINUTE, succeeded, T0, uniqueId, type ContractContext } from './store-fixtures.contract.js';

export function describeClusterCases(ctx: ContractContext): void {
  describe('cluster support', () => {
    it('now() is the store clock in epoch ms, close to this machine on one host', async () => {
      const before = Date.now();
      const now = await ctx.store().now();
      const after = Date.now();
      assert.ok(Number.isFinite(now));
      // Both clocks are this machine's here; a generous bound still catches seconds-vs-ms mistakes.
      assert.ok(now >= before - 1000 && now <= after + 1000, `store now ${now} is not within [${before}, ${after}] ± 1 s`);
    });

    it('renewLeases with ids renews only those of the owner\'s running runs', async () => {
      const store = ctx.store();
      const id = uniqueId('renew-ids');
      const owner = uniqueId('owner');
      const [a, b, c] = [await claimOne(store, id, T0, owner), await claimOne(store, id, T0 + 1, owner), await claimOne(store, id, T0 + 2, owner)];
      const theirs = await claimOne(store, id, T0 + 3, uniqueId('owner'));
      assert.equal(await store.renewLeases(owner, T0 + 10 * MINUTE, [a, c, theirs]), 2);
      assert.deepEqual(
        await Promise.all([a, b, c, theirs].map(async (runId) => (await store.getRun(runId))?.leaseUntilMs)),
        [T0 + 10 * MINUTE, T0 + 1 + LEASE_MS, T0 + 10 * MINUTE, T0 + 3 + LEASE_MS],
      );
      assert.equal(await store.renewLeases(owner, T0 + 20 * MINUTE, []), 0);
    });

    it('a store that tracks held runs renews what it claimed and has not ended, not a stray row of its owner', async () => {
      const id = uniqueId('held');
      const owner = uniqueId('owner');
      const stray = await claimOne(ctx.store(), id, T0, owner); // e.g. claimed by a crashed predecessor
      const store = trackHeldRuns(ctx.store(), owner);
      const kept = await claimOne(store, id, T0 + 1, owner);
      const done = await claimOne(store, id, T0 + 2, owner);
      await store.finishRun(done, succeeded(T0 + 2, 1));
      assert.equal(await store.renewLeases(owner, T0 + 10 * MINUTE), 1);
      assert.equal((await store.getRun(kept))?.leaseUntilMs, T0 + 10 * MINUTE);
      assert.equal((await store.getRun(stray))?.leaseUntilMs, T0 + LEASE_MS);
      const lost = (await store.expireLeases(T0 + 5 * MINUTE)).filter((r) => r.taskId === id);
      assert.deepEqual(lost.map((r) => r.id), [stray]);
    });
  });
}
