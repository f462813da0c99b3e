// A task's runs share its script context while it is kept; other tasks never see it, and a forgotten
// (changed or deleted) task starts from a fresh one. Real executors, both policies.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ScriptPolicy } from '../config.js';
import { startTestPool, type TestPool } from './testing/test-pool.js';

/** Leaves an implicit global and a prototype change, and reports what it found of earlier runs. */
const LEAVES_STATE = `
  runs = (typeof runs === 'number' ? runs : 0) + 1;
  var topLevel = (global.topLevel || 0) + 1; global.topLevel = topLevel;
  Object.prototype.markedBy = Object.prototype.markedBy || 'first run';
  module.exports.main = () => ({ runs, topLevel, marked: ({}).markedBy ?? null });`;

function resultOf(execution: Awaited<ReturnType<TestPool['run']>>): unknown {
  assert.equal(execution.outcome, 'succeeded', execution.outcome === 'succeeded' ? '' : JSON.stringify(execution.error));
  return JSON.parse(execution.outcome === 'succeeded' ? execution.result ?? 'null' : 'null');
}

for (const policy of ['strict', 'trusted'] satisfies ScriptPolicy[]) {
  describe(`script contexts under ${policy}`, () => {
    let t: TestPool;
    before(async () => {
      t = await startTestPool({ policy, size: 1 });
    });
    after(() => t.close());

    test('a task\'s next run runs its top-level code again, and sees the globals its earlier run left', async () => {
      assert.deepEqual(resultOf(await t.run(LEAVES_STATE, { taskKey: 'keeps' })), { runs: 1, topLevel: 1, marked: 'first run' });
      assert.deepEqual(resultOf(await t.run(LEAVES_STATE, { taskKey: 'keeps' })), { runs: 2, topLevel: 2, marked: 'first run' });
    });

    test('another task sees none of it: not the globals, not the prototypes', async () => {
      await t.run(LEAVES_STATE, { taskKey: 'left-state' });
      const other = await t.run('module.exports.main = () => ({ runs: typeof runs, topLevel: typeof topLevel, marked: ({}).markedBy ?? null });', { taskKey: 'other-task' });
      assert.deepEqual(resultOf(other), { runs: 'undefined', topLevel: 'undefined', marked: null });
    });

    test('a forgotten task (changed or deleted) starts again from a fresh context', async () => {
      await t.run(LEAVES_STATE, { taskKey: 'forgotten' });
      t.pool.forget('forgotten');
      // The forget message goes first on the same channel: the next run cannot overtake it.
      assert.deepEqual(resultOf(await t.run(LEAVES_STATE, { taskKey: 'forgotten' })), { runs: 1, topLevel: 1, marked: 'first run' });
    });
  });
}
