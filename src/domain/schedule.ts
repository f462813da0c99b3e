// Pure slot arithmetic on UTC epoch milliseconds: no clock, no I/O, no drift, no DST.

export interface SlotSpec {
  readonly initMs: number;
  readonly endMs: number | null;
  readonly intervalMs: number | null;
}

/** The first slot strictly after `afterMs`, or undefined when the task has no more slots. */
export function nextSlot(spec: SlotSpec, afterMs: number): number | undefined {
  const { initMs, endMs, intervalMs } = spec;
  if (intervalMs === null || intervalMs <= 0) return undefined;
  let slot: number;
  if (afterMs < initMs) {
    slot = initMs;
  } else {
    const k = Math.floor((afterMs - initMs) / intervalMs) + 1;
    slot = initMs + k * intervalMs;
  }
  if (endMs !== null && slot >= endMs) return undefined;
  return slot;
}

/** The latest slot at or before `atMs`, or undefined when none has come yet. */
export function slotAtOrBefore(spec: SlotSpec, atMs: number): number | undefined {
  const { initMs, endMs, intervalMs } = spec;
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

/** How many slots lie in the half-open range (fromMs, toMs]. */
export function countSlotsBetween(spec: SlotSpec, fromMs: number, toMs: number): number {
  const first = nextSlot(spec, fromMs);
  const last = slotAtOrBefore(spec, toMs);
  if (first === undefined || last === undefined || last < first || spec.intervalMs === null) return 0;
  return Math.floor((last - first) / spec.intervalMs) + 1;
}

/** True once no slot of the task can come any more at `atMs`. */
export function hasEnded(spec: SlotSpec, atMs: number): boolean {
  return spec.endMs !== null && atMs >= spec.endMs;
}

/** True when `ms` is one of the task's slots (on the grid and inside [init, end)). */
export function isSlot(spec: SlotSpec, ms: number): boolean {
  const { initMs, endMs, intervalMs } = spec;
  if (intervalMs === null || intervalMs <= 0 || ms < initMs) return false;
  if (endMs !== null && ms >= endMs) return false;
  return (ms - initMs) % intervalMs === 0;
}

/** The newest `limit` slots in the half-open range (fromMs, toMs], oldest first. */
export function latestSlotsBetween(spec: SlotSpec, fromMs: number, toMs: number, limit: number): number[] {
  const last = slotAtOrBefore(spec, toMs);
  if (last === undefined || last <= fromMs || spec.intervalMs === null || limit <= 0) return [];
  const slots: number[] = [];
  for (let slot = last; slot > fromMs && slot >= spec.initMs && slots.length < limit; slot -= spec.intervalMs) slots.push(slot);
  return slots.reverse();
}
