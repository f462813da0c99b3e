// The slots of a backfill's range: counted by arithmetic for interval tasks, stepped for cron tasks.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backfillRange, slotsFrom } from './backfill.js';
import { upcomingSlots, type SlotSpec } from './schedule.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2030, 0, 1);
const every = (intervalMs: number, initMs = T0, endMs: number | null = null): SlotSpec => ({ initMs, endMs, intervalMs, cron: null });

describe('backfillRange', () => {
  it('takes the slots in [from, to): from included, to excluded', () => {
    assert.deepEqual(backfillRange(every(MINUTE), T0 + 2 * MINUTE, T0 + 5 * MINUTE, 100), { ok: true, slots: 3, firstSlot: T0 + 2 * MINUTE });
    assert.deepEqual(backfillRange(every(MINUTE), T0 + 2 * MINUTE + 1, T0 + 5 * MINUTE + 1, 100), { ok: true, slots: 3, firstSlot: T0 + 3 * MINUTE });
  });

  it('stays inside the task\'s [init, end)', () => {
    assert.deepEqual(backfillRange(every(MINUTE, T0 + 10 * MINUTE), T0, T0 + 12 * MINUTE, 100), { ok: true, slots: 2, firstSlot: T0 + 10 * MINUTE });
    assert.deepEqual(backfillRange(every(MINUTE, T0, T0 + 3 * MINUTE), T0, T0 + 10 * MINUTE, 100), { ok: true, slots: 3, firstSlot: T0 });
    assert.deepEqual(backfillRange(every(MINUTE, T0 + 10 * MINUTE), T0, T0 + 10 * MINUTE, 100), { ok: false, reason: 'no-slots' });
    assert.deepEqual(backfillRange(every(MINUTE, T0, T0 + 3 * MINUTE), T0 + 3 * MINUTE, T0 + 9 * MINUTE, 100), { ok: false, reason: 'no-slots' });
  });

  it('refuses a range with no slot between two slots, and one past the bound', () => {
    assert.deepEqual(backfillRange(every(60 * MINUTE), T0 + 1, T0 + 59 * MINUTE, 100), { ok: false, reason: 'no-slots' });
    assert.deepEqual(backfillRange(every(MINUTE), T0, T0 + 100 * MINUTE, 100), { ok: true, slots: 100, firstSlot: T0 });
    assert.deepEqual(backfillRange(every(MINUTE), T0, T0 + 101 * MINUTE, 100), { ok: false, reason: 'too-many' });
    const cron: SlotSpec = { initMs: T0, endMs: null, intervalMs: null, cron: { expression: '* * * * *', timezone: 'UTC' } };
    assert.deepEqual(backfillRange(cron, T0, T0 + 100 * MINUTE, 100), { ok: true, slots: 100, firstSlot: T0 });
    assert.deepEqual(backfillRange(cron, T0, T0 + 101 * MINUTE, 100), { ok: false, reason: 'too-many' });
  });

  it('counts a cron range as the schedule steps through it, across a DST change', () => {
    // New York falls back on 1 November 2026: 01:30 happens twice and runs once.
    const cron: SlotSpec = { initMs: 0, endMs: null, intervalMs: null, cron: { expression: '30 1 * * *', timezone: 'America/New_York' } };
    const from = Date.UTC(2026, 9, 30);
    const to = Date.UTC(2026, 10, 4);
    const range = backfillRange(cron, from, to, 100);
    assert.ok(range.ok);
    assert.equal(range.slots, upcomingSlots(cron, from - 1, 100).filter((slot) => slot < to).length);
    assert.equal(range.slots, 5);
  });
});

describe('slotsFrom', () => {
  it('gives up to `count` slots from a slot and the next one left, null at the end of the range', () => {
    assert.deepEqual(slotsFrom(every(MINUTE), T0, T0 + 5 * MINUTE, 2), { slots: [T0, T0 + MINUTE], next: T0 + 2 * MINUTE });
    assert.deepEqual(slotsFrom(every(MINUTE), T0 + 3 * MINUTE, T0 + 5 * MINUTE, 10), { slots: [T0 + 3 * MINUTE, T0 + 4 * MINUTE], next: null });
    assert.deepEqual(slotsFrom(every(MINUTE), T0, T0 + 5 * MINUTE, 0), { slots: [], next: T0 });
  });
});
