// Keeps the runs this process holds leased, and declares runs of dead owners lost.

import type { Config } from '../config.js';
import type { TimerHandle, Clock } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import type { HeldRuns } from './held-runs.js';

export interface LeaseKeeperDeps {
  readonly config: Pick<Config, 'leaseMs' | 'instanceId'>;
  readonly store: Pick<Store, 'renewLeases' | 'expireLeases'>;
  /** The runs whose leases are renewed: those this process holds, never a stray row of its owner name. */
  readonly held: Pick<HeldRuns, 'ids' | 'release'>;
  readonly clock: Clock;
  readonly events: DirectorEvents;
  readonly logger: Logger;
  /**
   * Cluster mode: how often to look for runs of owners whose database session has ended (the store's
   * expireLeases finds them), so that a dead replica's runs are lost within this, not within a lease.
   * Leases are still renewed every third of a lease. Without it, both happen every third of a lease.
   */
  readonly sweepMs?: number;
}

export interface LeaseKeeper {
  start(): void;
  /** Stop it after the runner has closed: runs finishing within the shutdown grace keep their lease. */
  stop(): Promise<void>;
  /** One renew-and-expire pass (also what each renewal tick does). */
  tick(): Promise<void>;
}

/**
 * Renewing three times per lease keeps a run leased through two missed ticks (a busy store, a long
 * GC). A lost run is announced as `run:finished` with status `lost`; the scheduler retries it when
 * its task has `retries`. Expiry is a conditional update, so one replica reports each lost run.
 */
export function createLeaseKeeper(deps: LeaseKeeperDeps): LeaseKeeper {
  const { config, store, held, clock, events, logger } = deps;
  const renewMs = Math.max(100, Math.floor(config.leaseMs / 3));
  const periodMs = Math.min(renewMs, deps.sweepMs ?? renewMs);
  let timer: TimerHandle | undefined;
  let running = false;
  let current: Promise<void> | undefined;
  let renewedAt = Number.NEGATIVE_INFINITY;
  let failing = false;

  async function expire(now: number): Promise<void> {
    const lost = await store.expireLeases(now);
    for (const run of lost) {
      held.release(run.id);
      const why = run.error?.name === 'SessionEnded' ? 'its owner\'s database session ended' : 'its owner stopped renewing the lease';
      logger.warn({ taskId: run.taskId, runId: run.id, owner: run.owner, slot: run.slot }, `run declared lost: ${why}`);
      events.emit('run:finished', run);
    }
  }

  async function tick(): Promise<void> {
    const now = clock.now();
    await store.renewLeases(config.instanceId, now + config.leaseMs, held.ids());
    renewedAt = now;
    await expire(now);
  }

  /** A sweep between renewals only expires; renewal keeps its own, longer period. */
  async function step(): Promise<void> {
    const now = clock.now();
    if (now - renewedAt >= renewMs - periodMs / 2) await tick();
    else await expire(now);
  }

  function schedule(): void {
    if (!running) return;
    timer = clock.setTimer(() => {
      current = step()
        .then(() => {
          if (failing) logger.info('lease renewal works again');
          failing = false;
        })
        .catch((error: unknown) => {
          // Once per failure streak: a sweep every half second would otherwise log twice a second.
          if (!failing) logger.error({ err: error }, `lease renewal failed; trying again every ${periodMs} ms`);
          failing = true;
        })
        .finally(() => {
          current = undefined;
          schedule();
        });
    }, periodMs);
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      timer?.cancel();
      timer = undefined;
      await current;
    },
    tick,
  };
}
