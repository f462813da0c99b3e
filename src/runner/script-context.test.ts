// Where a run's globals live: under strict its task's context in the task's worker (no other task sees
// it, and a forgotten task starts fresh); under trusted the executor's one context, shared by every run
// in it as the original Director's one process was. Real executors.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestPool, type TestPool } from './testing/test-pool.js';

/** Leaves an implicit global and a prototype change, and reports what it found of earlier runs. */
const LEAVES_STATE = `
  runs = (typeof runs === 'number' ? runs : 0) + 1;
  var topLevel = (global.topLevel || 0) + 1; global.topLevel = topLevel;
  Object.prototype.markedBy = Object.prototype.markedBy || 'first run';
  module.exports.main = () => ({ runs, topLevel, marked: ({}).markedBy ?? null });`;
const LOOKS_AROUND = 'module.exports.main = () => ({ runs: typeof runs, topLevel: typeof topLevel, marked: ({}).markedBy ?? null });';

function resultOf(execution: Awaited<ReturnType<TestPool['run']>>): unknown {
  assert.equal(execution.outcome, 'succeeded', execution.outcome === 'succeeded' ? '' : JSON.stringify(execution.error));
  return JSON.parse(execution.outcome === 'succeeded' ? execution.result ?? 'null' : 'null');
}

describe('script contexts under strict', () => {
  let t: TestPool;
  before(async () => {
    t = await startTestPool({ policy: 'strict', size: 1 });
  });
  after(() => t.close());

  test('a task\'s next run runs its top-level code again, and sees the globals its earlier run left', async () => {
    assert.deepEqual(resultOf(await t.run(LEAVES_STATE, { taskKey: 'keeps' })), { runs: 1, topLevel: 1, marked: 'first run' });
    assert.deepEqual(resultOf(await t.run(LEAVES_STATE, { taskKey: 'keeps' })), { runs: 2, topLevel: 2, marked: 'first run' });
  });

  test('another task sees none of it: not the globals, not the prototypes', async () => {
    await t.run(LEAVES_STATE, { taskKey: 'left-state' });
    assert.deepEqual(resultOf(await t.run(LOOKS_AROUND, { taskKey: 'other-task' })), { runs: 'undefined', topLevel: 'undefined', marked: null });
  });

  test('a forgotten task (changed or deleted) starts again from a fresh context', async () => {
    await t.run(LEAVES_STATE, { taskKey: 'forgotten' });
    t.pool.forget('forgotten');
    // The forget message goes first on the same channel: the next run cannot overtake it.
    assert.deepEqual(resultOf(await t.run(LEAVES_STATE, { taskKey: 'forgotten' })), { runs: 1, topLevel: 1, marked: 'first run' });
  });
});

describe('script contexts under trusted', () => {
  let t: TestPool;
  before(async () => {
    t = await startTestPool({ policy: 'trusted', size: 1 });
  });
  after(() => t.close());

  test('every run gets a fresh module in the executor\'s one global scope, which all its tasks share', async () => {
    assert.deepEqual(resultOf(await t.run(LEAVES_STATE, { taskKey: 'first' })), { runs: 1, topLevel: 1, marked: 'first run' });
    assert.deepEqual(resultOf(await t.run(LOOKS_AROUND, { taskKey: 'second' })), { runs: 'number', topLevel: 'number', marked: 'first run' });
    assert.deepEqual(resultOf(await t.run(LEAVES_STATE, { taskKey: 'first' })), { runs: 2, topLevel: 2, marked: 'first run' });
  });
});
