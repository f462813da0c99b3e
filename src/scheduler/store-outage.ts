// While the store cannot take claims, the scheduler claims nothing; a probe with capped backoff waits for it.

import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import type { SlotHeap } from './slot-heap.js';
import type { TaskPlan } from './task-plan.js';

export interface StoreOutageDeps {
  readonly store: Pick<Store, 'now'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The store answers again: claiming resumes (slots that came meanwhile follow their catch-up policy). */
  readonly onRecovered: () => void;
}

export interface StoreOutage {
  /** Why claims are paused, or undefined while they are not. */
  reason(): string | undefined;
  /** A claim failed: pause claiming (logged once per outage) and probe until the store answers. */
  claimFailed(error: unknown): void;
  /** Forgets the outage and stops probing (the scheduler stops). */
  reset(): void;
}

const FIRST_PROBE_MS = 200;
const MAX_PROBE_MS = 5000;

/**
 * Pausing, rather than trying every wake-up, keeps a dead database from turning each due slot into
 * an error line and a timeout; the slots due meanwhile wait in the plan, and once the store answers
 * they are handled like a late wake-up. Other replicas that still reach the database run them first.
 */
export function createStoreOutage(deps: StoreOutageDeps): StoreOutage {
  const { store, clock, logger } = deps;
  let down: { since: number; error: string } | undefined;
  let probeMs = FIRST_PROBE_MS;
  let timer: TimerHandle | undefined;
  /** Bumped by reset(): a probe that answers after it belongs to a forgotten outage. */
  let generation = 0;

  function probeLater(): void {
    if (down === undefined || timer !== undefined) return;
    const wait = probeMs;
    const current = generation;
    probeMs = Math.min(MAX_PROBE_MS, probeMs * 2);
    timer = clock.setTimer(() => {
      timer = undefined;
      store.now().then(
        () => {
          if (current === generation) recovered();
        },
        (error: unknown) => {
          if (current !== generation) return;
          if (down !== undefined) down.error = message(error);
          logger.debug({ err: error }, `database still unreachable; next try in ${probeMs} ms`);
          probeLater();
        },
      );
    }, wait);
  }

  function recovered(): void {
    if (down === undefined) return;
    const downMs = clock.now() - down.since;
    down = undefined;
    probeMs = FIRST_PROBE_MS;
    logger.info({ downMs }, `database reachable again after ${downMs} ms; claiming slots again (slots due meanwhile follow their catch-up policy)`);
    deps.onRecovered();
  }

  return {
    reason: () => (down === undefined ? undefined : `database unreachable since ${new Date(down.since).toISOString()}: ${down.error}`),
    claimFailed(error) {
      if (down !== undefined) return;
      down = { since: clock.now(), error: message(error) };
      logger.warn({ err: error }, `database unreachable; not claiming slots; retrying in ${probeMs} ms`);
      probeLater();
    },
    reset() {
      generation += 1;
      down = undefined;
      probeMs = FIRST_PROBE_MS;
      timer?.cancel();
      timer = undefined;
    },
  };
}

/**
 * Each slot goes back into its plan, due again once claims resume, when the task's catch-up policy
 * decides about it like about any late slot. A replica that still reached the database may have run
 * it meanwhile: the claim then simply loses.
 */
export function requeueFailedClaims(heap: SlotHeap, plans: ReadonlyMap<string, TaskPlan>, failed: readonly { readonly plan: TaskPlan; readonly slot: number }[]): void {
  for (const { plan, slot } of failed) {
    if (plans.get(plan.task.id) !== plan) continue;
    const entry = heap.get(plan.task.id);
    if (entry === undefined || entry.kind === 'end' || entry.at > slot) heap.set({ taskId: plan.task.id, at: slot, kind: 'slot' });
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
