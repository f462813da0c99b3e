// The scheduler's dependencies and the state its parts share (plans, store writes in flight).

import type { Config } from '../config.js';
import type { RunRecord } from '../domain/run.js';
import type { Clock } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { TaskRunner } from '../runner/runner.js';
import type { Store } from '../store/store.js';
import type { TaskPlan } from './task-plan.js';

export interface SchedulerDeps {
  readonly config: Pick<Config, 'catchUpMax' | 'leaseMs' | 'instanceId' | 'reconcileMs'>;
  readonly store: Store;
  readonly runner: Pick<TaskRunner, 'runClaimed'>;
  readonly events: DirectorEvents;
  readonly clock: Clock;
  readonly logger: Logger;
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
  /** Something was queued for an instant: re-arm the timer if it is now the earliest. */
  rearm(): void;
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

export type { RunRecord };
