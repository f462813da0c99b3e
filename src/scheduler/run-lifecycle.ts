// A claimed run from dispatch to its end: retries with backoff, queued slots, cancelling what won't run.

import type { RunRecord } from '../domain/run.js';
import type { TaskPlan } from './task-plan.js';
import { claimedElsewhere, nextWaitingTaken, ranHere, retryCleared, retryPlanned, runBegun, runEnded, waitingCancelled, workOf } from './task-state.js';
import { isCurrent, iso, type SchedulerContext } from './scheduler-context.js';
import type { SkipRecorder } from './skip-recorder.js';
import { retryDelayMs, shouldRetry } from './retries.js';

export function createRunLifecycle(ctx: SchedulerContext, skips: SkipRecorder) {
  const { store, held, runner, clock, config, logger } = ctx;
  const owner = config.instanceId;

  /** Ends a claimed run that must not start; its slot stays claimed, so no replica runs it. */
  function cancelRun(run: RunRecord, reason: string): void {
    const error = { stage: 'executor' as const, name: 'Skipped', message: reason };
    ctx.track(store.abandonRun(run.id, 'skipped', error, clock.now()).then(() => held.release(run.id)), `recording run ${run.id} as skipped`);
  }

  /** Hands a claimed run to the runner. The caller has counted it in `plan.active` already. */
  function startRun(plan: TaskPlan, run: RunRecord): void {
    plan.update(ranHere);
    const task = plan.task;
    // Asked right before the fetch: a run still waiting for a place when its task is stopped, deleted
    // or replaced never starts (replaced: the plan stays, its task does not).
    const stillWanted = (): boolean => isCurrent(ctx, plan) && plan.task === task;
    // Not awaited: runs of different tasks are independent, and a slow one must not delay the next.
    runner.runClaimed(task, run, stillWanted).then(
      (finished) => onFinished(plan, finished),
      (error: unknown) => {
        // runClaimed records script failures itself; a rejection means the runner could not take it.
        logger.error({ err: error, taskId: run.taskId, runId: run.id }, 'the runner rejected a claimed run; recording it as failed');
        const failure = { stage: 'executor' as const, name: 'RunnerError', message: error instanceof Error ? error.message : String(error) };
        const recorded = store.abandonRun(run.id, 'failed', failure, clock.now()).then((ended) => {
          held.release(run.id);
          onFinished(plan, ended ?? run);
        });
        ctx.track(recorded, 'recording a runner failure');
      },
    );
  }

  function onFinished(plan: TaskPlan, run: RunRecord): void {
    plan.update(runEnded);
    if (!isCurrent(ctx, plan)) return;
    retryOrNot(plan, run);
    drain(plan);
  }

  function retryOrNot(plan: TaskPlan, run: RunRecord): void {
    const policy = plan.task.settings.retries;
    if (!shouldRetry(policy, run) || run.slot === null) return;
    const slot = run.slot;
    const attempt = run.attempt + 1;
    if (plan.task.settings.overlap !== 'allow') {
      // A retry never runs against the overlap policy: once a later slot has come, that slot wins.
      const { lastHandled } = plan.state;
      const later = workOf(plan.state).waiting.length > 0 || (lastHandled !== undefined && lastHandled > slot);
      if (later) {
        skips.record({ taskId: plan.task.id, slot, attempt, reason: 'retry dropped: the next slot has already come' });
        return;
      }
    }
    if (workOf(plan.state).retry) dropRetry(plan, `retry dropped: slot ${iso(slot)} failed later and is retried instead`);
    const delay = retryDelayMs(policy, run.attempt);
    const timer = clock.setTimer(() => ctx.track(fireRetry(plan, slot, attempt), 'starting a retry'), delay);
    plan.update((s) => retryPlanned(s, { slot, attempt, timer }));
    logger.info({ taskId: plan.task.id, slot, attempt, delayMs: delay, outcome: run.status }, `run failed; retrying in ${delay} ms`);
  }

  async function fireRetry(plan: TaskPlan, slot: number, attempt: number): Promise<void> {
    plan.update(retryCleared);
    if (!isCurrent(ctx, plan)) return;
    plan.update(runBegun);
    let run: RunRecord | undefined;
    try {
      run = await store.insertRun({ taskId: plan.task.id, slot, attempt, trigger: 'schedule', owner, nowMs: clock.now(), leaseMs: config.leaseMs });
      held.hold(run);
    } catch (error) {
      // The attempt is not made (the store is unreachable); the task must not stay counted as busy.
      plan.update(runEnded);
      drain(plan);
      throw error;
    }
    if (run === undefined) {
      // Another replica inserted this attempt first (it saw the same failure): it runs it.
      plan.update(runEnded);
      drain(plan);
      return;
    }
    if (!isCurrent(ctx, plan)) {
      plan.update(runEnded);
      cancelRun(run, 'retry not started: the task was stopped, deleted or changed');
      return;
    }
    startRun(plan, run);
  }

  /** Cancels a pending retry and records its attempt as skipped. */
  function dropRetry(plan: TaskPlan, reason: string): void {
    const retry = workOf(plan.state).retry;
    if (!retry) return;
    retry.timer.cancel();
    plan.update(retryCleared);
    skips.record({ taskId: plan.task.id, slot: retry.slot, attempt: retry.attempt, reason });
  }

  /** Starts the next waiting slot once the task is idle; ends the task when its end passed meanwhile. */
  function drain(plan: TaskPlan): void {
    if (!isCurrent(ctx, plan)) return;
    if (plan.state.phase.kind === 'ended') {
      ctx.endWhenDrained(plan);
      return;
    }
    // Nothing happens while the task is busy, or while the first waiting slot's claim is in flight (its answer drains again).
    const waiting = plan.take(nextWaitingTaken).next;
    if (waiting === undefined) return;
    if (waiting.kind === 'claimed') startRun(plan, waiting.run);
    else ctx.track(claimWaiting(plan, waiting.slot), 'claiming a catch-up slot');
  }

  async function claimWaiting(plan: TaskPlan, slot: number): Promise<void> {
    let run: RunRecord | undefined;
    try {
      [run] = await store.claimSlots([{ taskId: plan.task.id, slot, owner, nowMs: clock.now(), leaseMs: config.leaseMs }]);
      held.hold(run);
    } catch (error) {
      // Not counted as busy any more; the slot goes back into the plan until the store answers.
      plan.update(runEnded);
      ctx.claimFailed(error, [{ plan, slot }]);
      return;
    }
    if (run !== undefined) ctx.events.emit('slot:claimed', { taskId: run.taskId, slot, runId: run.id });
    if (run !== undefined && isCurrent(ctx, plan)) {
      startRun(plan, run);
      return;
    }
    plan.update(runEnded);
    if (run === undefined) plan.update(claimedElsewhere);
    else cancelRun(run, 'catch-up slot not started: the task was stopped, deleted or changed');
    drain(plan);
  }

  /** Drops what waits: claimed slots are recorded as skipped, unclaimed catch-up slots count as missed. */
  function cancelWaiting(plan: TaskPlan, reason: string): void {
    for (const run of plan.take(waitingCancelled).runs) cancelRun(run, reason);
  }

  /** A run of ours (or another replica's) was declared lost: retry it like a failure when the task says so. */
  function onLost(run: RunRecord): void {
    const plan = ctx.plans.get(run.taskId);
    if (plan === undefined || !isCurrent(ctx, plan) || workOf(plan.state).retry) return;
    retryOrNot(plan, run);
  }

  return { startRun, cancelRun, drain, dropRetry, cancelWaiting, onLost };
}

export type RunLifecycle = ReturnType<typeof createRunLifecycle>;
