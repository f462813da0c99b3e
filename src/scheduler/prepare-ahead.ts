// Slots are known ahead: a task's worker is started a little before its slot, while the machine is
// idle, instead of at the slot (tens of ms each, seconds for a burst of hundreds).

import type { Clock, TimerHandle } from '../lib/clock.js';
import { SlotHeap } from './slot-heap.js';

/**
 * How long before its slot a task's run is prepared. Long enough for a burst of a few hundred workers to
 * start on two cores (~60 ms of CPU each with their warm-up run: 200 take ~6 s, more under load; 10 s
 * left some unprepared at the slot); short enough that a prepared worker is still there at the slot
 * (executors keep DIRECTOR_MAX_RUNS of them, the longest idle ending first).
 */
export const PREPARE_AHEAD_MS = 30_000;

/**
 * How long before its slot a task's script is fetched (the runner keeps it for that slot's run), or half
 * the task's interval when that is shorter, so a script changed between two runs still changes the next
 * one (COMPAT 24). It is also how old a version of the script a run may start with: a change made within
 * this lead of a slot reaches the slot after. Long enough to fetch a burst of a thousand scripts over
 * loopback; the runner discards what is not used within a few times this.
 */
export const PREFETCH_AHEAD_MS = 1000;

/** The prefetch lead of a task's slots. */
export function prefetchLeadMs(intervalMs: number | null): number {
  return intervalMs === null ? PREFETCH_AHEAD_MS : Math.min(PREFETCH_AHEAD_MS, Math.floor(intervalMs / 2));
}

export interface PrepareAheadDeps {
  readonly clock: Clock;
  /** Makes ready what the task's run at `slotMs` needs; asked once per planned slot. */
  readonly prepare: (taskId: string, slotMs: number) => void;
  readonly leadMs?: number;
}

export interface PrepareAhead {
  /** The task's next slot is at `slotMs`: prepare it `leadMs` (or this slot's own lead) before, at once when that has passed. */
  plan(taskId: string, slotMs: number, slotLeadMs?: number): void;
  /** The task is not planned any more. */
  cancel(taskId: string): void;
  stop(): void;
}

export function createPrepareAhead(deps: PrepareAheadDeps): PrepareAhead {
  const { clock, prepare } = deps;
  const leadMs = deps.leadMs ?? PREPARE_AHEAD_MS;
  const due = new SlotHeap();
  /** The slot each due entry prepares (its lead may be the slot's own). */
  const slotOf = new Map<string, number>();
  let timer: TimerHandle | undefined;
  let armedAt: number | undefined;
  let stopped = false;

  function fire(): void {
    timer = undefined;
    armedAt = undefined;
    for (const entry of due.popDue(clock.now())) {
      const slotMs = slotOf.get(entry.taskId) ?? entry.at + leadMs;
      slotOf.delete(entry.taskId);
      prepare(entry.taskId, slotMs);
    }
    arm();
  }

  function arm(): void {
    const next = due.peek();
    if (stopped || next === undefined || armedAt === next.at) return;
    timer?.cancel();
    armedAt = next.at;
    timer = clock.setTimer(fire, Math.max(0, next.at - clock.now()));
  }

  return {
    plan(taskId, slotMs, slotLeadMs = leadMs) {
      if (stopped) return;
      const at = slotMs - slotLeadMs;
      if (at <= clock.now()) {
        due.delete(taskId);
        slotOf.delete(taskId);
        prepare(taskId, slotMs);
      } else {
        due.set({ taskId, at, kind: 'slot' });
        slotOf.set(taskId, slotMs);
      }
      arm();
    },
    cancel(taskId) {
      due.delete(taskId);
      slotOf.delete(taskId);
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
    },
  };
}
