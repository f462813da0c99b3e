// Slot arithmetic: the grid init + k·interval inside [init, end), without clock or drift.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  countSlotsBetween,
  hasEnded,
  isSlot,
  latestSlotsBetween,
  nextSlot,
  slotAtOrBefore,
  upcomingSlots,
  type SlotSpec,
} from './schedule.js';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const YEAR = 365 * 24 * 3600 * 1000;
const every = (intervalMs: number | null, endMs: number | null = null, initMs = T0): SlotSpec => ({ initMs, endMs, intervalMs });

describe('nextSlot', () => {
  it('is init itself for any instant before init', () => {
    assert.equal(nextSlot(every(MINUTE), T0 - 1), T0);
    assert.equal(nextSlot(every(MINUTE), T0 - 10 * YEAR), T0);
  });

  it('is strictly after the given instant, so a slot instant gives the following slot', () => {
    assert.equal(nextSlot(every(MINUTE), T0), T0 + MINUTE);
    assert.equal(nextSlot(every(MINUTE), T0 + MINUTE - 1), T0 + MINUTE);
    assert.equal(nextSlot(every(MINUTE), T0 + MINUTE), T0 + 2 * MINUTE);
  });

  it('stays on the grid after a million slots: no drift', () => {
    const interval = 7_777;
    const after = T0 + 1_000_000 * interval + 123;
    assert.equal(nextSlot(every(interval), after), T0 + 1_000_001 * interval);
  });

  it('handles intervals of years and far slots exactly', () => {
    assert.equal(nextSlot(every(10 * YEAR), T0 + 1), T0 + 10 * YEAR);
    assert.equal(nextSlot(every(10 * YEAR), T0 + 25 * YEAR), T0 + 30 * YEAR);
  });

  it('excludes end: a slot at end is not a slot', () => {
    assert.equal(nextSlot(every(MINUTE, T0 + 2 * MINUTE), T0 + MINUTE), undefined);
    assert.equal(nextSlot(every(MINUTE, T0 + 2 * MINUTE + 1), T0 + MINUTE), T0 + 2 * MINUTE);
  });

  it('gives nothing for an on-demand task', () => {
    assert.equal(nextSlot(every(null), T0), undefined);
  });
});

describe('slotAtOrBefore', () => {
  it('is the latest slot that has come, including one exactly now', () => {
    assert.equal(slotAtOrBefore(every(MINUTE), T0 + 2 * MINUTE), T0 + 2 * MINUTE);
    assert.equal(slotAtOrBefore(every(MINUTE), T0 + 2 * MINUTE + 5), T0 + 2 * MINUTE);
  });

  it('is undefined before init and the last slot before end after end', () => {
    assert.equal(slotAtOrBefore(every(MINUTE), T0 - 1), undefined);
    assert.equal(slotAtOrBefore(every(MINUTE, T0 + 3 * MINUTE), T0 + 10 * MINUTE), T0 + 2 * MINUTE);
  });
});

describe('upcomingSlots and countSlotsBetween', () => {
  it('lists the next slots in order and stops at end', () => {
    assert.deepEqual(upcomingSlots(every(MINUTE), T0, 3), [T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
    assert.deepEqual(upcomingSlots(every(MINUTE, T0 + 2 * MINUTE), T0 - 1, 10), [T0, T0 + MINUTE]);
    assert.deepEqual(upcomingSlots(every(null), T0, 10), []);
  });

  it('counts slots in a half-open range (from, to]', () => {
    assert.equal(countSlotsBetween(every(MINUTE), T0, T0 + 5 * MINUTE), 5);
    assert.equal(countSlotsBetween(every(MINUTE), T0 - 1, T0), 1);
    assert.equal(countSlotsBetween(every(MINUTE), T0 + 5 * MINUTE, T0), 0);
    assert.equal(countSlotsBetween(every(MINUTE, T0 + 3 * MINUTE), T0 - 1, T0 + 100 * MINUTE), 3);
  });
});

describe('isSlot', () => {
  it('is true only on the grid inside [init, end)', () => {
    const spec = every(MINUTE, T0 + 3 * MINUTE);
    assert.equal(isSlot(spec, T0), true);
    assert.equal(isSlot(spec, T0 + 2 * MINUTE), true);
    assert.equal(isSlot(spec, T0 + 2 * MINUTE + 1), false);
    assert.equal(isSlot(spec, T0 + 3 * MINUTE), false);
    assert.equal(isSlot(spec, T0 - MINUTE), false);
    assert.equal(isSlot(every(null), T0), false);
  });
});

describe('latestSlotsBetween', () => {
  it('gives the newest slots of a range, oldest first, at most `limit`', () => {
    assert.deepEqual(latestSlotsBetween(every(MINUTE), T0, T0 + 5 * MINUTE + 7, 3), [T0 + 3 * MINUTE, T0 + 4 * MINUTE, T0 + 5 * MINUTE]);
    assert.deepEqual(latestSlotsBetween(every(MINUTE), T0 - 1, T0 + 2 * MINUTE, 10), [T0, T0 + MINUTE, T0 + 2 * MINUTE]);
    assert.deepEqual(latestSlotsBetween(every(MINUTE), T0 + 2 * MINUTE, T0 + 2 * MINUTE, 10), []);
    assert.deepEqual(latestSlotsBetween(every(MINUTE), T0, T0 + 9 * MINUTE, 0), []);
  });

  it('stops at end', () => {
    assert.deepEqual(latestSlotsBetween(every(MINUTE, T0 + 2 * MINUTE), T0 - 1, T0 + 9 * MINUTE, 10), [T0, T0 + MINUTE]);
  });
});

describe('hasEnded', () => {
  it('is true from end on, never without end', () => {
    assert.equal(hasEnded(every(MINUTE, T0 + MINUTE), T0 + MINUTE - 1), false);
    assert.equal(hasEnded(every(MINUTE, T0 + MINUTE), T0 + MINUTE), true);
    assert.equal(hasEnded(every(MINUTE), T0 + 100 * YEAR), false);
  });
});
