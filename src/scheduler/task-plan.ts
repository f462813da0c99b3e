// What the scheduler keeps per running task, and the pure rules for its next due instant.

import type { RunRecord } from '../domain/run.js';
import { hasEnded, hasSlots, isSlot, nextSlot } from '../domain/schedule.js';
import type { Task } from '../domain/task.js';
import type { TimerHandle } from '../lib/clock.js';
import type { DueEntry } from './slot-heap.js';

/** A slot waiting for the task's previous run: a queued slot (claimed) or a catch-up slot (claimed on its turn). */
export interface WaitingSlot {
  readonly slot: number;
  /** The claimed run; null while unclaimed (catch-up) or while its claim is in flight. */
  run: RunRecord | null;
  claiming: boolean;
}

export interface PendingRetry {
  readonly slot: number;
  /** The attempt the retry will be. */
  readonly attempt: number;
  readonly timer: TimerHandle;
}

export interface TaskPlan {
  task: Task;
  /** The newest slot handled here (run, skipped, missed or lost to another replica): never handled again. */
  lastHandled: number | undefined;
  /** Runs of the task dispatched here and not finished, plus claims in flight that would become runs. */
  active: number;
  waiting: WaitingSlot[];
  retry: PendingRetry | undefined;
  /**
   * True while this process ran the task's newest slot itself, so no other replica's run can be
   * going; otherwise the overlap check asks the store for running runs first.
   */
  knownIdle: boolean;
  /** Slots not run because they were overdue (downtime, late wake-ups), since this process started. */
  missed: number;
  /** End has passed, but deletion waits for the waiting slots to drain. */
  ending: boolean;
  /** Slots taken from the plan ahead of their instant (claimed early or deferred), oldest first. */
  aheadSlots: number[];
}

export function newPlan(task: Task, lastHandled: number | undefined): TaskPlan {
  return { task, lastHandled, active: 0, waiting: [], retry: undefined, knownIdle: false, missed: 0, ending: false, aheadSlots: [] };
}

/** True when the scheduler should plan the task at all. */
/** Nothing of the task runs, waits or retries here: a slot can be claimed ahead of its instant. */
export function isIdle(plan: TaskPlan): boolean {
  return plan.active === 0 && plan.waiting.length === 0 && plan.retry === undefined;
}

export function isSchedulable(task: Task): boolean {
  return task.running && hasSlots(task);
}

/**
 * The task's next due instant after `afterMs`: its next slot, else its end (so a task whose interval
 * reaches past its end is still deleted on time), else nothing.
 */
export function nextEntry(task: Task, afterMs: number): DueEntry | undefined {
  const slot = nextSlot(task, afterMs);
  if (slot !== undefined) return { taskId: task.id, at: slot, kind: 'slot' };
  if (task.endMs !== null) return { taskId: task.id, at: task.endMs, kind: 'end' };
  return undefined;
}

export interface ReplanInput {
  readonly task: Task;
  readonly nowMs: number;
  readonly lastHandled: number | undefined;
  /** The entry planned before the change, if any. */
  readonly previous: DueEntry | undefined;
}

/**
 * Where a changed task's next slot search starts: after now (a change never replays the past), and
 * never at or before the last handled slot (a clock that went backwards must not repeat one). One
 * exception: a slot that was already due but whose wake-up had not fired yet stays due, if it is
 * still a slot of the changed task — otherwise an unrelated edit at that instant would drop it.
 */
export function replanAfter(input: ReplanInput): number {
  const handled = input.lastHandled ?? Number.NEGATIVE_INFINITY;
  const after = Math.max(handled, input.nowMs);
  const previous = input.previous;
  if (previous?.kind === 'slot' && previous.at <= input.nowMs && previous.at > handled && isSlot(input.task, previous.at)) {
    return previous.at - 1;
  }
  return after;
}

/** A task whose end has passed is due for deletion now, whatever its slots say. */
export function planEntry(task: Task, afterMs: number, nowMs: number): DueEntry | undefined {
  if (hasEnded(task, nowMs)) return { taskId: task.id, at: task.endMs ?? nowMs, kind: 'end' };
  return nextEntry(task, afterMs);
}
