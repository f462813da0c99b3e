// Which plans a re-read of the tasks changes: the cluster's backstop for missed notifications.

import type { Task } from '../domain/task.js';
import type { Store, TaskVersion } from '../store/store.js';
import { isSchedulable, type TaskPlan } from './task-plan.js';
import { isDraining } from './task-state.js';

export interface TaskDiff {
  /** Tasks to re-plan from the snapshot: new, changed by another replica, stopped or made on-demand. */
  readonly changed: Task[];
  /** Plans whose task is gone from the store. */
  readonly removed: TaskPlan[];
}

/** A re-read's outcome: tasks to re-plan as they are now (undefined: deleted meanwhile), plans whose task is gone. */
export interface TaskChanges {
  readonly changed: ReadonlyMap<string, Task | undefined>;
  readonly removed: readonly TaskPlan[];
}

/** More changed tasks than this are read in one full listing rather than one by one. */
const ONE_BY_ONE_MAX = 100;

/**
 * `settled(id)` is false for a task changed locally after the snapshot was read (or being re-read
 * right now): the local change is newer and wins. `updatedMs` tells versions apart.
 */
export function diffVersions(snapshot: readonly TaskVersion[], plans: ReadonlyMap<string, TaskPlan>, settled: (id: string) => boolean = () => true): { changed: string[]; removed: TaskPlan[] } {
  const seen = new Set<string>();
  const changed: string[] = [];
  for (const task of snapshot) {
    seen.add(task.id);
    if (!settled(task.id)) continue;
    const plan = plans.get(task.id);
    const same = plan !== undefined ? plan.task.updatedMs === task.updatedMs && !isDraining(plan.state) : !task.schedulable;
    if (!same) changed.push(task.id);
  }
  const removed: TaskPlan[] = [];
  for (const plan of plans.values()) {
    if (!seen.has(plan.task.id) && !isDraining(plan.state) && settled(plan.task.id)) removed.push(plan);
  }
  return { changed, removed };
}

export function diffTasks(snapshot: readonly Task[], plans: ReadonlyMap<string, TaskPlan>, settled: (id: string) => boolean = () => true): TaskDiff {
  const byId = new Map(snapshot.map((task) => [task.id, task]));
  const versions = snapshot.map((task) => ({ id: task.id, updatedMs: task.updatedMs, schedulable: isSchedulable(task) }));
  const diff = diffVersions(versions, plans, settled);
  return { changed: diff.changed.map((id) => byId.get(id) as Task), removed: diff.removed };
}

/**
 * Reads what changed. A store that lists versions (id, updatedMs, schedulable) is asked for those
 * first and only the tasks that differ are read in full: every few seconds on every replica, reading
 * and parsing 10,000 task documents would block the event loop long enough to delay slots.
 */
export async function readTaskChanges(store: Pick<Store, 'listTasks' | 'getTask' | 'listTaskVersions'>, plans: ReadonlyMap<string, TaskPlan>): Promise<TaskChanges> {
  if (store.listTaskVersions !== undefined) {
    const diff = diffVersions(await store.listTaskVersions(), plans);
    if (diff.changed.length <= ONE_BY_ONE_MAX) {
      const changed = new Map(await Promise.all(diff.changed.map(async (id) => [id, await store.getTask(id)] as const)));
      return { changed, removed: diff.removed };
    }
  }
  const diff = diffTasks(await store.listTasks(), plans);
  return { changed: new Map(diff.changed.map((task) => [task.id, task])), removed: diff.removed };
}
