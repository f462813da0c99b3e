// Store errors are counted by operation name and still reach the caller.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { countStoreErrors } from './count-store-errors.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';

describe('countStoreErrors', () => {
  it('counts each failed operation by name and passes the failure on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'director-instrumented-'));
    try {
      const failed: string[] = [];
      const store = countStoreErrors(await openSqliteStore({ file: path.join(dir, 'd.sqlite') }), (op) => failed.push(op));
      assert.equal(await store.getTask('none'), undefined);
      assert.deepEqual(failed, []);
      await store.close();
      // A closed database fails every operation, as a lost connection would.
      await assert.rejects(store.getTask('none'));
      await assert.rejects(store.listRuns('none'));
      assert.deepEqual(failed, ['getTask', 'listRuns']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
