// The scheduler's handle on one planned task (its state lives in task-state.ts), and the pure rules for its next due instant.

import { hasEnded, hasSlots, isSlot, nextSlot } from '../domain/schedule.js';
import type { Task } from '../domain/task.js';
import type { DueEntry } from './slot-heap.js';
import { newTaskState, type TaskState } from './task-state.js';

/**
 * One planning of a task: the scheduler's map holds one per running task, and a plan that is no longer
 * the map's (stopped, deleted, replaced) is how in-flight work learns that it is stale. Its state
 * changes only through the transitions of task-state.ts.
 */
export class TaskPlan {
  private current: TaskState;

  constructor(state: TaskState) {
    this.current = state;
  }

  get state(): TaskState {
    return this.current;
  }

  get task(): Task {
    return this.current.task;
  }

  /** Applies one transition of task-state.ts; returns the new state. */
  update(transition: (state: TaskState) => TaskState): TaskState {
    this.current = transition(this.current);
    return this.current;
  }

  /** Applies a transition that also hands back what it took out of the state (a waiting slot, runs to cancel). */
  take<T extends { readonly state: TaskState }>(transition: (state: TaskState) => T): T {
    const result = transition(this.current);
    this.current = result.state;
    return result;
  }
}

export function newPlan(task: Task, lastHandled: number | undefined, missed = 0): TaskPlan {
  return new TaskPlan(newTaskState(task, lastHandled, missed));
}

/** True when the scheduler should plan the task at all. */
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
