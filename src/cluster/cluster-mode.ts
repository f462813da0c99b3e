// Cluster mode (PostgreSQL store): database time, claim sharing between replicas, and changes from the others.

import type { Config } from '../config.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import { createOffsetClock, type OffsetClock } from './offset-clock.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ClaimSharing } from '../scheduler/scheduler-context.js';
import type { ClusterStore } from '../store/store.js';
import { startChangeFeed } from './change-feed.js';
import { createClaimSharing, type ReplicaSharing } from './claim-sharing.js';

export interface ClusterModeDeps {
  readonly store: ClusterStore;
  readonly config: Pick<Config, 'instanceId' | 'clockSkewMaxMs'>;
  readonly logger: Logger;
  /** A clock given by a test is used as is; otherwise this machine's clock moved onto the database's. */
  readonly clock?: Clock;
}

export interface ClusterMode {
  readonly clock: Clock;
  readonly sharing: ClaimSharing;
  /**
   * Starts watching changes and live replicas. Call it before the scheduler starts: a write committed
   * after the watch began is notified, one before is in the scheduler's first read, none falls between.
   */
  start(deps: { readonly scheduler: Pick<Scheduler, 'taskChanged' | 'reconcile'>; readonly events: DirectorEvents }): Promise<void>;
  /** Stops watching changes (before the scheduler stops), then everything else. Idempotent. */
  stop(): Promise<void>;
}

/** Measures the database clock before returning, so a skewed replica warns at start-up. */
export async function prepareClusterMode(deps: ClusterModeDeps): Promise<ClusterMode> {
  const { store, config } = deps;
  const logger = deps.logger.child({ module: 'cluster' });
  let offsetClock: OffsetClock | undefined;
  if (deps.clock === undefined) {
    offsetClock = createOffsetClock({ base: systemClock, reference: () => store.now(), maxSkewMs: config.clockSkewMaxMs, logger });
    await offsetClock.start();
    logger.info({ offsetMs: offsetClock.offsetMs() }, `slots are timed by the database clock (this machine's differs by ${offsetClock.offsetMs()} ms)`);
  }
  const clock = deps.clock ?? offsetClock ?? systemClock;
  const sharing: ReplicaSharing = createClaimSharing({ store, instanceId: config.instanceId, clock, logger });
  let unwatch: (() => Promise<void>) | undefined;
  let stopping: Promise<void> | undefined;

  return {
    clock,
    sharing,
    async start({ scheduler, events }) {
      unwatch ??= await startChangeFeed({ store, scheduler, events, logger, replicasChanged: () => void sharing.refresh() });
      // After the watch: it is the watch's connection that makes this replica live for the others.
      await sharing.start();
    },
    stop() {
      stopping ??= (async () => {
        await unwatch?.();
        sharing.stop();
        offsetClock?.stop();
      })();
      return stopping;
    },
  };
}
