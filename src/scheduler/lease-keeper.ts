// Keeps this process's running runs leased, and declares runs of dead owners lost.

import type { Config } from '../config.js';
import type { TimerHandle, Clock } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';

export interface LeaseKeeperDeps {
  readonly config: Pick<Config, 'leaseMs' | 'instanceId'>;
  readonly store: Pick<Store, 'renewLeases' | 'expireLeases'>;
  readonly clock: Clock;
  readonly events: DirectorEvents;
  readonly logger: Logger;
}

export interface LeaseKeeper {
  start(): void;
  /** Stop it after the runner has closed: runs finishing within the shutdown grace keep their lease. */
  stop(): Promise<void>;
  /** One renew-and-expire pass (also what each tick does). */
  tick(): Promise<void>;
}

/**
 * Renewing three times per lease keeps a run leased through two missed ticks (a busy store, a long
 * GC). A lost run is announced as `run:finished` with status `lost`; the scheduler retries it when
 * its task has `retries`. Expiry is a conditional update, so one replica reports each lost run.
 */
export function createLeaseKeeper(deps: LeaseKeeperDeps): LeaseKeeper {
  const { config, store, clock, events, logger } = deps;
  const periodMs = Math.max(100, Math.floor(config.leaseMs / 3));
  let timer: TimerHandle | undefined;
  let running = false;
  let current: Promise<void> | undefined;

  async function tick(): Promise<void> {
    const now = clock.now();
    await store.renewLeases(config.instanceId, now + config.leaseMs);
    const lost = await store.expireLeases(now);
    for (const run of lost) {
      logger.warn({ taskId: run.taskId, runId: run.id, owner: run.owner, slot: run.slot }, 'run declared lost: its owner stopped renewing the lease');
      events.emit('run:finished', run);
    }
  }

  function schedule(): void {
    if (!running) return;
    timer = clock.setTimer(() => {
      current = tick()
        .catch((error: unknown) => logger.error({ err: error }, `lease renewal failed; trying again in ${periodMs} ms`))
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
