// Which plans a full re-read of the tasks changes: the cluster's backstop for missed notifications. Pure.

import type { Task } from '../domain/task.js';
import { isSchedulable, type TaskPlan } from './task-plan.js';

export interface TaskDiff {
  /** Tasks to re-plan from the snapshot: new, changed by another replica, stopped or made on-demand. */
  readonly changed: Task[];
  /** Plans whose task is gone from the store. */
  readonly removed: TaskPlan[];
}

/**
 * `settled(id)` is false for a task changed locally after the snapshot was read (or being re-read
 * right now): the local change is newer and wins. `updatedMs` tells versions apart.
 */
export function diffTasks(snapshot: readonly Task[], plans: ReadonlyMap<string, TaskPlan>, settled: (id: string) => boolean): TaskDiff {
  const seen = new Set<string>();
  const changed: Task[] = [];
  for (const task of snapshot) {
    seen.add(task.id);
    if (!settled(task.id)) continue;
    const plan = plans.get(task.id);
    const same = plan !== undefined ? plan.task.updatedMs === task.updatedMs && !plan.ending : !isSchedulable(task);
    if (!same) changed.push(task);
  }
  const removed: TaskPlan[] = [];
  for (const plan of plans.values()) {
    if (!seen.has(plan.task.id) && !plan.ending && settled(plan.task.id)) removed.push(plan);
  }
  return { changed, removed };
}
