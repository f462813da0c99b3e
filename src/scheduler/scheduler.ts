// The scheduler: one timer for the earliest due instant of all running tasks; claims and dispatches slots.

import { upcomingSlots } from '../domain/schedule.js';
import type { Task } from '../domain/task.js';
import type { TimerHandle } from '../lib/clock.js';
import { missedReason, planCatchUp } from './catch-up.js';
import { AheadQueue, type AheadItem } from './ahead-queue.js';
import { createDispatcher, type DueSlots } from './dispatcher.js';
import { createEndOfTask } from './end-of-task.js';
import { createRunLifecycle } from './run-lifecycle.js';
import { CLAIM_LEAD_MS, CLAIM_WINDOW_MS, type Scheduler, type SchedulerContext, type SchedulerDeps, type TaskScheduleStats } from './scheduler-context.js';
import { createSkipRecorder } from './skip-recorder.js';
import { SlotHeap } from './slot-heap.js';
import { createPrepareAhead, PREFETCH_AHEAD_MS, prefetchLeadMs } from './prepare-ahead.js';
import { createReplanning } from './replanning.js';
import { planStartUp } from './start-up.js';
import { createStoreOutage, requeueFailedClaims } from './store-outage.js';
import { planEntry, type TaskPlan } from './task-plan.js';
import { slotsHandled, workOf } from './task-state.js';

export type { Scheduler, SchedulerDeps, TaskScheduleStats } from './scheduler-context.js';

type State = 'stopped' | 'starting' | 'running' | 'stopping';

/** How long a stop waits, past the claim window, for claims in flight and their runs' instants. */
const HAND_OVER_SLACK_MS = 1000;

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store, clock, config, logger, events } = deps;
  const plans = new Map<string, TaskPlan>();
  // Each planned slot is prepared ahead (its task's worker started), where this replica will likely run it.
  const preparing = createPrepareAhead({ clock, prepare: (id) => deps.runner.prepare(id) });
  // …and its script is fetched a moment before it, while the task is still planned for that slot.
  const prefetching = createPrepareAhead({
    clock,
    leadMs: PREFETCH_AHEAD_MS,
    prepare: (id, slotMs) => {
      const plan = plans.get(id);
      if (plan !== undefined && state === 'running') deps.runner.prefetch(plan.task, slotMs);
    },
  });
  const mine = (id: string): boolean => deps.sharing === undefined || deps.sharing.prefers(id);
  const heap = new SlotHeap({
    planned: (entry) => {
      if (entry.kind === 'slot' && mine(entry.taskId)) {
        preparing.plan(entry.taskId, entry.at);
        prefetching.plan(entry.taskId, entry.at, prefetchLeadMs(plans.get(entry.taskId)?.task.intervalMs ?? null));
      } else {
        preparing.cancel(entry.taskId);
        prefetching.cancel(entry.taskId);
      }
    },
    unplanned: (id) => {
      preparing.cancel(id);
      prefetching.cancel(id);
    },
  });
  const ahead = new AheadQueue();
  const inflight = new Set<Promise<void>>();
  /** The last handled slot of tasks that are not planned (stopped): a restart of them never repeats one. */
  const handledBefore = new Map<string, number>();
  let state: State = 'stopped';
  let timer: TimerHandle | undefined;
  let armedAt: number | undefined;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let offLost: (() => void) | undefined;
  /** The wake-up after an outage finds many slots overdue: that is the outage, not a late wake-up per task. */
  let afterOutage = false;
  /** A cluster replica is stopping: nothing more is claimed, but what it claimed still starts (see stop). */
  let handingOver = false;
  const claimsPaused = (): boolean => handingOver || outage.reason() !== undefined;

  function track(work: Promise<unknown>, what: string): void {
    const tracked: Promise<void> = work.then(
      () => undefined,
      (error: unknown) => logger.error({ err: error }, `${what} failed`),
    ).finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  }

  const ctx: SchedulerContext = {
    ...deps,
    plans,
    isActive: () => state === 'running',
    track,
    endWhenDrained: (plan) => ends.endWhenDrained(plan),
    rearm: () => rearm(),
    claimsPaused,
    claimFailed,
  };
  const outage = createStoreOutage({ store, clock, logger, onRecovered: () => { afterOutage = true; arm(); } });
  const skips = createSkipRecorder(ctx);
  const runs = createRunLifecycle(ctx, skips);
  const dispatcher = createDispatcher(ctx, skips, runs, ahead);
  const replanning = createReplanning(ctx, { heap, runs, handledBefore, arm });
  const ends = createEndOfTask(ctx, { retire: replanning.retire, replan: (id, task) => { replanning.apply(id, task, undefined); arm(); } });

  /**
   * After claims ahead have answered. A slot whose instant passed while its claim was being committed
   * (the commit waits for the disk, which may take longer than the lead) is handed over now, not one
   * timer later; otherwise the timer is moved to the earliest instant as usual.
   */
  function rearm(): void {
    if (state !== 'running') return;
    if ((ahead.peekAt() ?? Number.POSITIVE_INFINITY) > clock.now()) return arm();
    timer?.cancel();
    wake();
  }

  /**
   * The one timer: at the earliest of the next claim window and the next slot claimed ahead. While
   * claims are paused (store unreachable), only slots already claimed are handed over.
   */
  function arm(): void {
    if (state !== 'running') return;
    const paused = claimsPaused();
    const claimAt = paused ? Number.POSITIVE_INFINITY : (heap.peek()?.at ?? Number.POSITIVE_INFINITY) - CLAIM_LEAD_MS;
    const at = Math.min(claimAt, ahead.peekAt() ?? Number.POSITIVE_INFINITY);
    if (timer !== undefined && armedAt === at) return;
    timer?.cancel();
    timer = undefined;
    armedAt = undefined;
    if (at === Number.POSITIVE_INFINITY) return;
    armedAt = at;
    timer = clock.setTimer(wake, Math.max(0, at - clock.now()));
  }

  /**
   * First hands over the runs whose instant has come (the time-critical part), then takes every
   * entry of the claim window at once: 10,000 tasks sharing a slot become one claim batch.
   */
  function wake(): void {
    timer = undefined;
    armedAt = undefined;
    if (state !== 'running') return;
    const now = clock.now();
    const ending: TaskPlan[] = [];
    const slots: Extract<AheadItem, { kind: 'slot' }>[] = [];
    for (const item of ahead.popDue(now)) {
      if (item.kind === 'end') ending.push(item.plan);
      else slots.push(item);
    }
    if (slots.length > 0) dispatcher.dispatchAhead(slots, now);
    const due: DueSlots[] = [];
    const paused = claimsPaused();
    // The window is taken only once its lead time has come. A wake-up for a slot claimed ahead (one
    // per ms when slots are staggered) must not claim the one slot that just entered the window: each
    // would then cost a transaction of its own, instead of a window's slots sharing one.
    const claimDue = !paused && (heap.peek()?.at ?? Number.POSITIVE_INFINITY) - CLAIM_LEAD_MS <= now;
    for (const entry of claimDue ? heap.popDue(now + CLAIM_WINDOW_MS) : []) {
      const plan = plans.get(entry.taskId);
      if (plan === undefined) continue;
      if (entry.kind === 'slot') due.push({ plan, slots: takeDue(plan, entry.at, now) });
      else if (entry.at <= now) ending.push(plan);
      else ahead.push({ kind: 'end', plan, at: entry.at });
    }
    if (!paused) afterOutage = false;
    if (due.length > 0) dispatcher.handle(due, now);
    arm(); // after handle: a slot it deferred to its instant is in the ahead queue now
    for (const plan of ending) track(ends.endTask(plan), `ending task ${plan.task.id}`);
  }

  /**
   * The next slot is computed from the slot just handled, not from now(): a clock that lags or
   * jumps back would otherwise land on the same slot again. A wake-up later than one interval
   * (blocked loop, suspend, clock stepped forward) applies the task's catch-up policy.
   */
  function takeDue(plan: TaskPlan, slot: number, now: number): number[] {
    const { task } = plan;
    const overdueUntilMs = Math.max(now, slot); // a slot of the claim window is due at its instant
    const caught = planCatchUp({ spec: task, policy: task.settings.catchUp, handledMs: slot - 1, overdueUntilMs, max: config.catchUpMax, cause: 'late' });
    const { lastHandled } = plan.update((s) => slotsHandled(s, caught.resumeAfterMs, caught.missedLatest === undefined ? 0 : caught.missed));
    if (caught.missedLatest !== undefined) {
      if (afterOutage) logger.debug({ taskId: task.id, missed: caught.missed, lateMs: now - slot }, 'missed slots during the database outage');
      else logger.warn({ taskId: task.id, missed: caught.missed, lateMs: now - slot }, 'woke late: missed slots are recorded as skipped');
      skips.record({ taskId: task.id, slot: caught.missedLatest, attempt: 1, reason: missedReason(caught.missed, 'late', now - slot) });
    }
    const next = planEntry(task, lastHandled ?? caught.resumeAfterMs, now);
    if (next !== undefined) heap.set(next);
    return [...caught.run];
  }

  /** Claims that failed or were not tried (store unreachable): their slots go back into the plans. */
  function claimFailed(error: unknown, failed: readonly { readonly plan: TaskPlan; readonly slot: number }[]): void {
    if (state === 'running') requeueFailedClaims(heap, plans, failed);
    if (error !== undefined) outage.claimFailed(error);
    arm();
  }

  /** A change during start-up waits for it: it is applied to the plans the start loaded. */
  async function taskChanged(id: string): Promise<void> {
    if (starting !== undefined) await starting;
    await replanning.taskChanged(id);
  }

  async function load(): Promise<void> {
    const started = performance.now();
    const [tasks, latest] = await Promise.all([store.listTasks(), store.latestSlots()]);
    const now = clock.now();
    const plan = planStartUp({ tasks, latest, nowMs: now, catchUpMax: config.catchUpMax });
    for (const [id, slot] of latest) handledBefore.set(id, slot);
    for (const taskPlan of plan.plans) {
      plans.set(taskPlan.task.id, taskPlan);
      handledBefore.delete(taskPlan.task.id);
    }
    heap.build(plan.entries);
    state = 'running';
    offLost = events.on('run:finished', (run) => {
      if (run.status === 'lost') runs.onLost(run);
    });
    arm();
    replanning.scheduleReconcile();
    if (plan.due.length > 0) dispatcher.handle(plan.due, now);
    for (const missed of plan.missed) skips.record(missed);
    const ms = Math.round(performance.now() - started);
    logger.info({ tasks: tasks.length, planned: plans.size, catchingUp: plan.due.length, missed: plan.missed.length, ms }, `scheduler started: ${plans.size} running tasks planned in ${ms} ms`);
  }

  async function start(): Promise<void> {
    if (stopping !== undefined) await stopping;
    if (state === 'running') return;
    starting ??= (async () => {
      state = 'starting';
      try {
        await load();
      } catch (error) {
        state = 'stopped';
        plans.clear();
        throw error;
      }
    })().finally(() => {
      starting = undefined;
    });
    return starting;
  }

  /**
   * Cluster mode: a slot this replica claimed is its alone (the claim is taken), so cancelling it at a
   * stop would miss it while the other replicas go on with the slots after it. Such slots are due
   * within CLAIM_LEAD_MS + CLAIM_WINDOW_MS: claiming stops, and they (and those of claims in flight)
   * are handed over at their instant as usual; the runner's grace period covers them like any other
   * running script. A single Director's schedule stops with it, so it records them as skipped instead.
   */
  async function handOverClaimed(): Promise<void> {
    handingOver = true;
    replanning.stop();
    for (const plan of plans.values()) runs.dropRetry(plan, 'retry dropped: Director stopped');
    arm();
    const deadline = clock.now() + CLAIM_LEAD_MS + CLAIM_WINDOW_MS + HAND_OVER_SLACK_MS;
    while (clock.now() < deadline && (inflight.size > 0 || ahead.holdsClaimedRuns())) {
      await new Promise<void>((resolve) => clock.setTimer(resolve, 10));
    }
  }

  async function stop(): Promise<void> {
    if (starting !== undefined) await starting.catch(() => undefined);
    if (state === 'stopped') return;
    stopping ??= (async () => {
      if (deps.sharing !== undefined && state === 'running') await handOverClaimed();
      handingOver = false;
      state = 'stopping';
      preparing.stop();
      prefetching.stop();
      timer?.cancel();
      timer = undefined;
      armedAt = undefined;
      replanning.stop();
      outage.reset();
      offLost?.();
      for (const plan of plans.values()) {
        runs.dropRetry(plan, 'retry dropped: Director stopped');
        runs.cancelWaiting(plan, 'not started: Director stopped');
      }
      for (const item of ahead.drain()) {
        if (item.kind === 'slot' && item.run !== null) runs.cancelRun(item.run, 'not started: Director stopped');
      }
      plans.clear();
      heap.build([]);
      while (inflight.size > 0) await Promise.all(inflight);
      state = 'stopped';
      logger.info('scheduler stopped: no more slots are claimed');
    })().finally(() => {
      stopping = undefined;
    });
    return stopping;
  }

  function nextExecution(taskId: string): number | undefined {
    const claimedAhead = plans.get(taskId)?.state.aheadSlots[0];
    if (claimedAhead !== undefined) return claimedAhead;
    const entry = heap.get(taskId);
    return entry?.kind === 'slot' ? entry.at : undefined;
  }

  function previewSlots(task: Task, count: number): number[] {
    const next = plans.has(task.id) ? nextExecution(task.id) : undefined;
    if (next !== undefined) return [next, ...upcomingSlots(task, next, count - 1)].slice(0, Math.max(0, count));
    return upcomingSlots(task, Math.max(clock.now(), handledBefore.get(task.id) ?? Number.NEGATIVE_INFINITY), count);
  }

  function stats(taskId: string): TaskScheduleStats | undefined {
    const plan = plans.get(taskId);
    if (plan === undefined) return undefined;
    const work = workOf(plan.state);
    return { missedSlots: plan.state.missed, waitingSlots: work.waiting.length, activeRuns: work.active, retryPending: work.retry !== undefined };
  }

  const claimsPausedReason = (): string | undefined => (state === 'running' ? outage.reason() : undefined);
  return { start, stop, taskChanged, nextExecution, previewSlots, stats, isRunning: () => state === 'running', claimsPausedReason, reconcile: replanning.reconcile };
}
