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
 * How long before its slot a task's script is fetched (the runner keeps it for that slot's run). It is
 * also how old a version of the script a run may start with: a change to a script in the assets manager
 * reaches the runs whose slot is more than this far away. Long enough to fetch a burst of a thousand
 * scripts over loopback; the runner discards what is not used within a few times this.
 */
export const PREFETCH_AHEAD_MS = 1000;

export interface PrepareAheadDeps {
  readonly clock: Clock;
  /** Makes ready what the task's run at `slotMs` needs; asked once per planned slot. */
  readonly prepare: (taskId: string, slotMs: number) => void;
  readonly leadMs?: number;
}

export interface PrepareAhead {
  /** The task's next slot is at `slotMs`: prepare it `leadMs` before (at once when that has passed). */
  plan(taskId: string, slotMs: number): void;
  /** The task is not planned any more. */
  cancel(taskId: string): void;
  stop(): void;
}

export function createPrepareAhead(deps: PrepareAheadDeps): PrepareAhead {
  const { clock, prepare } = deps;
  const leadMs = deps.leadMs ?? PREPARE_AHEAD_MS;
  const due = new SlotHeap();
  let timer: TimerHandle | undefined;
  let armedAt: number | undefined;
  let stopped = false;

  function fire(): void {
    timer = undefined;
    armedAt = undefined;
    for (const entry of due.popDue(clock.now())) prepare(entry.taskId, entry.at + leadMs);
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
    plan(taskId, slotMs) {
      if (stopped) return;
      const at = slotMs - leadMs;
      if (at <= clock.now()) {
        due.delete(taskId);
        prepare(taskId, slotMs);
      } else {
        due.set({ taskId, at, kind: 'slot' });
      }
      arm();
    },
    cancel(taskId) {
      due.delete(taskId);
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
    },
  };
}
