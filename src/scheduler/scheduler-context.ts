// The scheduler's contract (its dependencies and what it offers) and the state its parts share.

import type { Config } from '../config.js';
import type { Task } from '../domain/task.js';
import type { Clock } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { TaskRunner } from '../runner/runner.js';
import type { HeldRuns } from '../runs/held-runs.js';
import type { Store } from '../store/store.js';
import type { TaskWrites } from '../tasks/task-writes.js';
import type { TaskPlan } from './task-plan.js';

export interface SchedulerConfig extends Pick<Config, 'catchUpMax' | 'leaseMs' | 'instanceId'> {
  /**
   * How often every task is re-read for changes other replicas made (cluster mode: notifications can
   * be missed); null for a single Director, whose store nobody else writes.
   */
  readonly reconcileMs: number | null;
}

export interface SchedulerDeps {
  readonly config: SchedulerConfig;
  readonly store: Store;
  /** The runs this process holds: every run the scheduler claims or inserts, until it cancels it. */
  readonly held: Pick<HeldRuns, 'hold' | 'release'>;
  /** End-of-task deletes through the task-write service, which announces it. */
  readonly tasks: Pick<TaskWrites, 'deleteEnded'>;
  readonly runner: Pick<TaskRunner, 'runClaimed' | 'prepare' | 'prefetch' | 'forget'>;
  readonly events: DirectorEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Cluster mode: which replica claims a task's slots first. Without it, this process claims everything at once. */
  readonly sharing?: ClaimSharing;
}

/**
 * Replicas that wake together would all race for every slot, and the first batch to arrive would win
 * them all. Instead one replica is preferred per task: it claims ahead of the instant as usual, the
 * others only at the instant and `yieldMs` later, winning just what the preferred one did not take
 * (it died, lost the database, or was too slow).
 */
export interface ClaimSharing {
  prefers(taskId: string): boolean;
  readonly yieldMs: number;
}

export interface TaskScheduleStats {
  /** Slots not run because they were overdue (downtime, late wake-ups), counted since start. */
  readonly missedSlots: number;
  /** Slots waiting behind a running one (overlap "queue", catch-up "all"). */
  readonly waitingSlots: number;
  /** Runs of the task this process has going (or is claiming). */
  readonly activeRuns: number;
  readonly retryPending: boolean;
}

export interface Scheduler {
  /** Plans every running task from the store, catches up what was missed, arms the timer. Idempotent. */
  start(): Promise<void>;
  /** Stops claiming: timer, retries and waiting slots are dropped; running scripts are the runner's. Idempotent. */
  stop(): Promise<void>;
  /** Re-reads a task after a write and re-plans it; once resolved, no stale slot of it starts. */
  taskChanged(id: string): Promise<void>;
  /** The next slot this scheduler will run for the task; undefined when it is not planned. */
  nextExecution(taskId: string): number | undefined;
  /** The next `count` slots of a task: as planned when it is running here, as they would be otherwise. */
  previewSlots(task: Task, count: number): number[];
  stats(taskId: string): TaskScheduleStats | undefined;
  isRunning(): boolean;
  /** Why no slot is being claimed although the scheduler runs (the store is unreachable), if so. */
  claimsPausedReason(): string | undefined;
  /**
   * Re-reads every task and re-plans those another replica changed. Runs every reconcileMs on the
   * PostgreSQL store (cluster mode); a LISTEN/NOTIFY listener calls taskChanged(id) for immediacy.
   */
  reconcile(): Promise<void>;
}

export interface SchedulerContext extends SchedulerDeps {
  /** Planned tasks by id: only running tasks with an interval (and ended ones still draining). */
  readonly plans: Map<string, TaskPlan>;
  /** False once stop() has begun: nothing new is claimed or retried. */
  isActive(): boolean;
  /** Keeps background store work for stop() to await; a failure is logged with `what`. */
  track(work: Promise<unknown>, what: string): void;
  /** The plan's end has passed and nothing of it is left to run: delete the task now. */
  endWhenDrained(plan: TaskPlan): void;
  /** Something was queued for an instant: re-arm the timer if it is now the earliest, hand it over if the instant has passed. */
  rearm(): void;
  /** True while the store is unreachable: claims are not even tried. */
  claimsPaused(): boolean;
  /**
   * These claims failed with `error` (undefined: not tried while paused): their slots go back into the
   * plans, and an error pauses claiming until the store answers again.
   */
  claimFailed(error: unknown, failed: readonly { readonly plan: TaskPlan; readonly slot: number }[]): void;
}

/** The plan is still the live one for its task (not stopped, deleted or replaced since). */
export function isCurrent(ctx: SchedulerContext, plan: TaskPlan): boolean {
  return ctx.isActive() && ctx.plans.get(plan.task.id) === plan;
}

/** Claims go to the store in transactions of this many slots: 10,000 due slots are 10 transactions. */
export const STORE_CHUNK = 1000;

/**
 * Slots are claimed ahead of their instant, so the claim's commit (20–60 ms for 1,000 slots here,
 * an fsync included) is off the critical path and staggered slots share one commit: the timer wakes
 * CLAIM_LEAD_MS before the earliest slot and claims every slot of the next CLAIM_WINDOW_MS. The runs
 * are handed to the runner at their exact instant.
 */
export const CLAIM_LEAD_MS = 100;
export const CLAIM_WINDOW_MS = 200;

/** Lets timers and I/O callbacks run between chunks of synchronous (SQLite) store work. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
