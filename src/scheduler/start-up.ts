// Start-up planning: where each running task left off, what it missed while Director was down. Pure.

import type { Task } from '../domain/task.js';
import { missedReason, planCatchUp } from './catch-up.js';
import type { DueSlots } from './dispatcher.js';
import type { SkippedSlot } from './skip-recorder.js';
import type { DueEntry } from './slot-heap.js';
import { isSchedulable, newPlan, planEntry, type TaskPlan } from './task-plan.js';

/**
 * A slot this young at start-up is due, not missed: a restart (or a second replica starting) must not
 * turn the slot being claimed right now into a missed one. It runs late instead.
 */
export const START_UP_GRACE_MS = 2000;

export interface StartUpInput {
  readonly tasks: readonly Task[];
  /** The newest slot with a run row, per task (store.latestSlots()). */
  readonly latest: ReadonlyMap<string, number>;
  readonly nowMs: number;
  readonly catchUpMax: number;
  readonly graceMs?: number;
}

export interface StartUpPlan {
  readonly plans: TaskPlan[];
  readonly entries: DueEntry[];
  /** Catch-up slots to run now. */
  readonly due: DueSlots[];
  /** Missed slots to record, one (the newest) per task. */
  readonly missed: SkippedSlot[];
}

export function planStartUp(input: StartUpInput): StartUpPlan {
  const { nowMs } = input;
  const overdueUntilMs = nowMs - (input.graceMs ?? START_UP_GRACE_MS);
  const result: StartUpPlan = { plans: [], entries: [], due: [], missed: [] };
  for (const task of input.tasks) {
    if (!isSchedulable(task)) continue;
    const latest = input.latest.get(task.id);
    // Slots before the task's last write are not missed: it was stopped, or had another schedule,
    // or did not exist; a write that started it plans from that moment, like the original.
    const handledMs = Math.max(latest ?? Number.NEGATIVE_INFINITY, task.updatedMs);
    const plan = planCatchUp({ spec: task, policy: task.settings.catchUp, handledMs, overdueUntilMs, max: input.catchUpMax, cause: 'down' });
    const overdue = plan.run.length + plan.missed > 0;
    const taskPlan = newPlan(task, overdue ? plan.resumeAfterMs : latest, plan.missed);
    result.plans.push(taskPlan);
    const entry = planEntry(task, plan.resumeAfterMs, nowMs);
    if (entry) result.entries.push(entry);
    if (plan.run.length > 0) result.due.push({ plan: taskPlan, slots: plan.run });
    if (plan.missedLatest !== undefined) {
      result.missed.push({ taskId: task.id, slot: plan.missedLatest, attempt: 1, reason: missedReason(plan.missed, 'down', nowMs - plan.missedLatest) });
    }
  }
  return result;
}
