// Store contract, what cluster mode relies on: the store's own clock and renewing only the runs named.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimOne, LEASE_MS, MINUTE, T0, uniqueId, type ContractContext } from './store-fixtures.contract.js';

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
  });
}
