// Run history retention: per task keep the newest N finished runs and drop those older than the
// maximum age, in the background, so the store does not grow with every slot forever.

import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';

export interface RunRetentionDeps {
  readonly store: { trimRuns(options: { readonly keepPerTask: number; readonly olderThanMs: number | null }): Promise<number> };
  readonly config: { readonly runsKeep: number; readonly runsMaxAgeMs: number };
  readonly clock: Clock;
  readonly logger: Logger;
  /** First trim after start-up: soon, but not in the middle of catch-up. */
  readonly firstDelayMs?: number;
  readonly intervalMs?: number;
}

export interface RunRetention {
  /** Trims now (tests, and the loop itself); resolves with how many runs were removed. */
  trimNow(): Promise<number>;
  /** Stops the loop and waits for a trim in flight, so the store can be closed after it. */
  stop(): Promise<void>;
}

export const RETENTION_FIRST_DELAY_MS = 30_000;
export const RETENTION_INTERVAL_MS = 10 * 60_000;
const BACKOFF_FIRST_MS = 5_000;

export function startRunRetention(deps: RunRetentionDeps): RunRetention {
  const { store, config, clock, logger } = deps;
  const intervalMs = deps.intervalMs ?? RETENTION_INTERVAL_MS;
  let timer: TimerHandle | undefined;
  let inFlight: Promise<unknown> | undefined;
  let stopped = false;
  let failures = 0;

  async function trimNow(): Promise<number> {
    const olderThanMs = config.runsMaxAgeMs > 0 ? clock.now() - config.runsMaxAgeMs : null;
    const removed = await store.trimRuns({ keepPerTask: config.runsKeep, olderThanMs });
    if (removed > 0) {
      logger.info({ removed, keepPerTask: config.runsKeep, olderThan: olderThanMs === null ? null : new Date(olderThanMs).toISOString() }, 'run history trimmed');
    }
    return removed;
  }

  function arm(ms: number): void {
    if (stopped) return;
    timer = clock.setTimer(tick, ms);
  }

  function tick(): void {
    timer = undefined;
    const run: Promise<void> = trimNow().then(
      () => {
        failures = 0;
        arm(intervalMs);
      },
      (error: unknown) => {
        failures += 1;
        // Doubling from 5 s, never beyond the normal interval: a store that stays down costs one
        // failing query per interval, and a short outage is retried quickly.
        const waitMs = Math.min(intervalMs, BACKOFF_FIRST_MS * 2 ** (failures - 1));
        logger.warn({ err: error, failures, retryInMs: waitMs }, `trimming run history failed; retrying in ${waitMs} ms`);
        arm(waitMs);
      },
    );
    inFlight = run;
    void run.finally(() => { if (inFlight === run) inFlight = undefined; });
  }

  if (config.runsKeep === 0 && config.runsMaxAgeMs === 0) {
    logger.info('run history retention is off (DIRECTOR_RUNS_KEEP=0 and DIRECTOR_RUNS_MAX_AGE_DAYS=0): runs are kept forever');
  } else {
    arm(deps.firstDelayMs ?? RETENTION_FIRST_DELAY_MS);
  }

  return {
    trimNow,
    async stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
      await inFlight;
    },
  };
}
