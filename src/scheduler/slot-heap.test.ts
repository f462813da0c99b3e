// The heap of due instants: ordering, replacement and removal by task id, bulk build.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlotHeap, type DueEntry } from './slot-heap.js';

const slot = (taskId: string, at: number): DueEntry => ({ taskId, at, kind: 'slot' });

function drain(heap: SlotHeap): number[] {
  return heap.popDue(Number.MAX_SAFE_INTEGER).map((e) => e.at);
}

describe('SlotHeap', () => {
  it('pops due entries earliest first and leaves later ones', () => {
    const heap = new SlotHeap();
    for (const [id, at] of [['a', 50], ['b', 10], ['c', 30], ['d', 20], ['e', 40]] as const) heap.set(slot(id, at));
    assert.deepEqual(heap.popDue(30).map((e) => e.taskId), ['b', 'd', 'c']);
    assert.equal(heap.size, 2);
    assert.equal(heap.peek()?.at, 40);
  });

  it('keeps one entry per task: setting again replaces it, up or down', () => {
    const heap = new SlotHeap();
    heap.set(slot('a', 10));
    heap.set(slot('b', 20));
    heap.set(slot('a', 30));
    assert.equal(heap.size, 2);
    assert.equal(heap.peek()?.taskId, 'b');
    heap.set(slot('a', 5));
    assert.equal(heap.peek()?.taskId, 'a');
    assert.equal(heap.get('a')?.at, 5);
  });

  it('removes any task by id and stays ordered', () => {
    const heap = new SlotHeap();
    const ats = Array.from({ length: 200 }, (_, i) => (i * 7919) % 1000);
    ats.forEach((at, i) => heap.set(slot(`t${i}`, at)));
    for (let i = 0; i < 200; i += 3) assert.equal(heap.delete(`t${i}`), true);
    assert.equal(heap.delete('t0'), false);
    const expected = ats.filter((_, i) => i % 3 !== 0).sort((a, b) => a - b);
    assert.deepEqual(drain(heap), expected);
    assert.equal(heap.get('t1'), undefined);
  });

  it('builds from many entries at once in heap order', () => {
    const heap = new SlotHeap();
    const entries = Array.from({ length: 100_000 }, (_, i) => slot(`t${i}`, (i * 104_729) % 100_003));
    heap.build(entries);
    assert.equal(heap.size, 100_000);
    heap.delete('t5');
    const out = drain(heap);
    assert.equal(out.length, 99_999);
    for (let i = 1; i < out.length; i++) assert.ok((out[i - 1] as number) <= (out[i] as number));
  });

  it('refuses to build with a task planned twice', () => {
    assert.throws(() => new SlotHeap().build([slot('a', 1), slot('a', 2)]), /planned twice/);
  });
});
