// Re-plans a task after it changed: a local write (taskChanged), another replica's write (the reconcile pass), or its retirement.

import type { Task } from '../domain/task.js';
import type { TimerHandle } from '../lib/clock.js';
import { readTaskChanges } from './reconcile.js';
import type { RunLifecycle } from './run-lifecycle.js';
import type { SchedulerContext } from './scheduler-context.js';
import type { DueEntry, SlotHeap } from './slot-heap.js';
import { isSchedulable, newPlan, planEntry, replanAfter, type TaskPlan } from './task-plan.js';
import { isDraining, taskReplaced } from './task-state.js';

export interface ReplanningParts {
  readonly heap: SlotHeap;
  readonly runs: RunLifecycle;
  /** The scheduler's last handled slot of tasks that are not planned: a retired plan leaves its own here. */
  readonly handledBefore: Map<string, number>;
  /** Moves the scheduler's timer to the earliest instant. */
  readonly arm: () => void;
}

export function createReplanning(ctx: SchedulerContext, parts: ReplanningParts) {
  const { store, clock, config, plans } = ctx;
  const { heap, runs, handledBefore, arm } = parts;
  /** Newest change per task id: a re-read that a later change overtook is not applied. */
  const changes = new Map<string, number>();
  /** Tasks re-planned by taskChanged since the running reconcile pass read its snapshot. */
  const appliedSince = new Set<string>();
  let reconcileTimer: TimerHandle | undefined;

  function retire(plan: TaskPlan, reason: string): void {
    const id = plan.task.id;
    if (plans.get(id) === plan) {
      plans.delete(id);
      heap.delete(id);
    }
    const { lastHandled } = plan.state;
    if (lastHandled !== undefined) handledBefore.set(id, lastHandled);
    runs.dropRetry(plan, `retry dropped: the task was ${reason}`);
    runs.cancelWaiting(plan, `not started: the task was ${reason}`);
  }

  function apply(id: string, task: Task | undefined, previous: DueEntry | undefined): void {
    appliedSince.add(id);
    let plan = plans.get(id);
    // What was kept ready for the task's old version (its worker) goes; the new one starts fresh.
    if (plan !== undefined && plan.task !== task) ctx.runner.forget(id);
    if (task === undefined || !isSchedulable(task)) {
      if (plan !== undefined) retire(plan, task === undefined ? 'deleted' : task.running ? 'made on-demand' : 'stopped');
      return;
    }
    if (plan !== undefined && isDraining(plan.state)) {
      retire(plan, 'replaced');
      plan = undefined;
    }
    if (plan === undefined) {
      plan = newPlan(task, handledBefore.get(id));
      handledBefore.delete(id);
      plans.set(id, plan);
    } else {
      // A slot claimed ahead that is off the new grid will be skipped at its instant: not "next" any more.
      plan.update((s) => taskReplaced(s, task));
    }
    const now = clock.now();
    const entry = planEntry(task, replanAfter({ task, nowMs: now, lastHandled: plan.state.lastHandled, previous }), now);
    if (entry === undefined) heap.delete(id);
    else heap.set(entry);
  }

  /** The caller has waited for a start in progress: a change is applied to the plans it loaded. */
  async function taskChanged(id: string): Promise<void> {
    if (!ctx.isActive()) return;
    const token = (changes.get(id) ?? 0) + 1;
    changes.set(id, token);
    // Unplanned at once: from here on no wake-up takes a slot of this task until its new state is read.
    const previous = heap.get(id);
    heap.delete(id);
    let task: Task | undefined;
    try {
      task = await store.getTask(id);
    } catch (error) {
      if (changes.get(id) === token && previous !== undefined && plans.has(id)) heap.set(previous);
      if (changes.get(id) === token) changes.delete(id);
      arm();
      throw error;
    }
    if (changes.get(id) !== token || !ctx.isActive()) return; // a later change re-plans it
    changes.delete(id);
    apply(id, task, previous);
    arm();
  }

  async function reconcile(): Promise<void> {
    if (!ctx.isActive()) return;
    appliedSince.clear();
    const diff = await readTaskChanges(store, plans);
    if (!ctx.isActive()) return;
    // A task changed here after the re-read began is newer than what it read: the local change wins.
    const settled = (id: string): boolean => !appliedSince.has(id) && !changes.has(id);
    for (const [id, task] of diff.changed) if (settled(id)) apply(id, task, heap.get(id));
    for (const plan of diff.removed) if (settled(plan.task.id) && plans.get(plan.task.id) === plan) retire(plan, 'deleted');
    arm();
  }

  function scheduleReconcile(): void {
    const every = config.reconcileMs;
    if (every === null || !ctx.isActive()) return;
    reconcileTimer = clock.setTimer(() => {
      // While the store is unreachable there is nothing to read; the probe's recovery re-arms claims.
      if (ctx.claimsPaused()) scheduleReconcile();
      else ctx.track(reconcile().finally(scheduleReconcile), 're-reading tasks for changes made by other replicas');
    }, every);
  }

  /** The scheduler stops: no more re-reads, and changes being read are forgotten. */
  function stop(): void {
    reconcileTimer?.cancel();
    reconcileTimer = undefined;
    changes.clear();
  }

  return { retire, apply, taskChanged, reconcile, scheduleReconcile, stop };
}

export type Replanning = ReturnType<typeof createReplanning>;
