// The conformance suite every Store passes: `describeStoreContract(name, open)` from each store's tests.
//
// One store is opened for the whole suite and the cases never assume it starts empty: every case makes
// its own ids, and global operations (counts, lease sweeps, retention) are judged on the case's own rows
// or as differences. That lets PostgreSQL run the suite in one schema per test file.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { describeBackfillCases } from './backfill-cases.contract.js';
import { describeBackfillRunCases } from './backfill-run-cases.contract.js';
import { describeClusterCases } from './cluster-cases.contract.js';
import { describeRunCases } from './run-cases.contract.js';
import type { Store } from './store.js';
import type { ContractContext } from './store-fixtures.contract.js';
import { describeTaskCases } from './task-cases.contract.js';

export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store | undefined;
    const context: ContractContext = {
      store() {
        assert.ok(store, 'the store did not open (see the failure of the suite\'s before hook)');
        return store;
      },
    };

    before(async () => {
      store = await open();
    });

    after(async () => {
      await store?.close();
      // Closing twice is allowed: shutdown paths may reach close() more than once.
      await store?.close();
    });

    describeTaskCases(context);
    describeRunCases(context);
    describeClusterCases(context);
    describeBackfillCases(context);
    // Last: its retention case trims what earlier cases left behind.
    describeBackfillRunCases(context);
  });
}
