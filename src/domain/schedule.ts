// Pure slot math: no clock, no I/O. An interval task's slots are arithmetic on UTC epoch ms (no
// drift, no DST); a cron task's are the instants of its expression in its zone (cron-schedule.ts).

import { cronSlotAtOrBefore, nextCronSlot, type CronSpec } from './cron-schedule.js';

export interface SlotSpec {
  readonly initMs: number;
  readonly endMs: number | null;
  readonly intervalMs: number | null;
  /** A cron schedule instead of an interval (a task never has both). */
  readonly cron?: CronSpec | null;
}

/** Cron slots before 1970 are never due; the bound keeps wall-clock arithmetic in four-digit years. */
const CRON_FIRST_MS = 0;
/**
 * Counting a cron task's slots steps through them one by one (~15 µs each), so a count stops here:
 * it only reports how many slots an outage missed, and a second-by-second cron down for days would
 * otherwise block start-up for seconds.
 */
export const CRON_COUNT_MAX = 10_000;

/** True when the task has slots at all (an interval or a cron); false for an on-demand task. */
export function hasSlots(spec: SlotSpec): boolean {
  return spec.cron != null || (spec.intervalMs !== null && spec.intervalMs > 0);
}

/** The first slot strictly after `afterMs`, or undefined when the task has no more slots. */
export function nextSlot(spec: SlotSpec, afterMs: number): number | undefined {
  const { initMs, endMs, intervalMs, cron } = spec;
  let slot: number | undefined;
  if (cron != null) {
    slot = nextCronSlot(cron, Math.max(afterMs, initMs - 1, CRON_FIRST_MS - 1));
    if (slot === undefined) return undefined;
  } else {
    if (intervalMs === null || intervalMs <= 0) return undefined;
    if (afterMs < initMs) {
      slot = initMs;
    } else {
      const k = Math.floor((afterMs - initMs) / intervalMs) + 1;
      slot = initMs + k * intervalMs;
    }
  }
  if (endMs !== null && slot >= endMs) return undefined;
  return slot;
}

/** The latest slot at or before `atMs`, or undefined when none has come yet. */
export function slotAtOrBefore(spec: SlotSpec, atMs: number): number | undefined {
  const { initMs, endMs, intervalMs, cron } = spec;
  if (cron != null) {
    const at = endMs !== null ? Math.min(atMs, endMs - 1) : atMs;
    if (at < initMs || at < CRON_FIRST_MS) return undefined;
    const slot = cronSlotAtOrBefore(cron, at);
    return slot === undefined || slot < initMs ? undefined : slot;
  }
  if (intervalMs === null || intervalMs <= 0 || atMs < initMs) return undefined;
  let slot = initMs + Math.floor((atMs - initMs) / intervalMs) * intervalMs;
  if (endMs !== null && slot >= endMs) {
    // The last slot inside [init, end).
    slot = initMs + Math.floor((endMs - 1 - initMs) / intervalMs) * intervalMs;
  }
  return slot;
}

/** Up to `count` slots strictly after `afterMs`. */
export function upcomingSlots(spec: SlotSpec, afterMs: number, count: number): number[] {
  const slots: number[] = [];
  let after = afterMs;
  while (slots.length < count) {
    const slot = nextSlot(spec, after);
    if (slot === undefined) break;
    slots.push(slot);
    after = slot;
  }
  return slots;
}

/** How many slots lie in the half-open range (fromMs, toMs]; for a cron task at most CRON_COUNT_MAX. */
export function countSlotsBetween(spec: SlotSpec, fromMs: number, toMs: number): number {
  if (spec.cron != null) {
    let count = 0;
    for (let slot = nextSlot(spec, fromMs); slot !== undefined && slot <= toMs && count < CRON_COUNT_MAX; slot = nextSlot(spec, slot)) count++;
    return count;
  }
  const first = nextSlot(spec, fromMs);
  const last = slotAtOrBefore(spec, toMs);
  if (first === undefined || last === undefined || last < first || spec.intervalMs === null) return 0;
  return Math.floor((last - first) / spec.intervalMs) + 1;
}

/** True once no slot of the task can come any more at `atMs`. */
export function hasEnded(spec: SlotSpec, atMs: number): boolean {
  return spec.endMs !== null && atMs >= spec.endMs;
}

/** True when `ms` is one of the task's slots (on the grid, or an instant of its cron, inside [init, end)). */
export function isSlot(spec: SlotSpec, ms: number): boolean {
  const { initMs, endMs, intervalMs, cron } = spec;
  if (ms < initMs || (endMs !== null && ms >= endMs)) return false;
  if (cron != null) return nextSlot(spec, ms - 1) === ms;
  if (intervalMs === null || intervalMs <= 0) return false;
  return (ms - initMs) % intervalMs === 0;
}

/** The newest `limit` slots in the half-open range (fromMs, toMs], oldest first. */
export function latestSlotsBetween(spec: SlotSpec, fromMs: number, toMs: number, limit: number): number[] {
  const last = slotAtOrBefore(spec, toMs);
  if (last === undefined || last <= fromMs || limit <= 0) return [];
  const slots: number[] = [];
  const previous = (slot: number): number | undefined =>
    spec.cron != null ? slotAtOrBefore(spec, slot - 1) : spec.intervalMs === null ? undefined : slot - spec.intervalMs;
  for (let slot: number | undefined = last; slot !== undefined && slot > fromMs && slot >= spec.initMs && slots.length < limit; slot = previous(slot)) slots.push(slot);
  return slots.reverse();
}
