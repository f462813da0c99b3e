// A running task whose end has passed is deleted, once across replicas; its run history stays.

import { hasEnded } from '../domain/schedule.js';
import type { Task } from '../domain/task.js';
import { isCurrent, type SchedulerContext } from './scheduler-context.js';
import type { TaskPlan } from './task-plan.js';
import { endReached, isDraining } from './task-state.js';

export interface EndOfTaskHooks {
  /** Removes the plan (nothing of it left to run). */
  retire(plan: TaskPlan, reason: string): void;
  /** Re-reads the task and plans it as it is now. */
  replan(id: string, task: Task | undefined): void;
}

export function createEndOfTask(ctx: SchedulerContext, hooks: EndOfTaskHooks) {
  const { store, tasks, clock, logger } = ctx;

  /**
   * The store delete is the claim: only the replica whose delete removed the row reports the end.
   * Slots already claimed or waiting (a catch-up run of the last slots) still run after it — the
   * plan stays until they are done, so their claims do not find it retired.
   */
  async function endTask(plan: TaskPlan): Promise<void> {
    if (!isCurrent(ctx, plan) || isDraining(plan.state)) return;
    const id = plan.task.id;
    const deleted = await tasks.deleteEnded(id, clock.now());
    if (!isCurrent(ctx, plan)) return;
    if (!deleted) {
      // Another replica ended it, or the task changed (end moved, stopped) after this plan was made.
      const task = await store.getTask(id);
      if (!isCurrent(ctx, plan)) return;
      if (task?.running && hasEnded(task, clock.now())) {
        logger.warn({ taskId: id }, 'an ended task could not be deleted; it is no longer planned here');
        hooks.retire(plan, 'ended');
        return;
      }
      hooks.replan(id, task);
      return;
    }
    const state = plan.update(endReached);
    logger.info({ taskId: id, endMs: plan.task.endMs }, 'task reached its end and was deleted; its runs are kept');
    if (state.phase.kind === 'ended') hooks.retire(plan, 'ended');
  }

  /** Called by the run lifecycle once an ending plan has nothing left to run. */
  function endWhenDrained(plan: TaskPlan): void {
    if (plan.state.phase.kind === 'ended' && ctx.plans.get(plan.task.id) === plan) hooks.retire(plan, 'ended');
  }

  return { endTask, endWhenDrained };
}
