// Cluster mode's clock: this machine's clock moved onto the database's, so replicas agree on when a slot is due.

import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';

export interface OffsetClockDeps {
  readonly base: Clock;
  /** The reference clock, epoch ms (store.now(): PostgreSQL's clock_timestamp()). */
  readonly reference: () => Promise<number>;
  /** Warn when this machine and the reference differ by more (config.clockSkewMaxMs). */
  readonly maxSkewMs: number;
  readonly logger: Pick<Logger, 'warn' | 'info'>;
  /** How often the offset is measured again; clocks drift, and NTP may step one. */
  readonly everyMs?: number;
  /** Round trips per measurement; the shortest one is trusted. */
  readonly samples?: number;
}

export interface OffsetClock extends Clock {
  /** reference − this machine, ms, as last measured (0 until then). */
  offsetMs(): number;
  /** Measures once (resolves when done, also on failure) and keeps measuring every `everyMs`. */
  start(): Promise<void>;
  stop(): void;
}

/**
 * now() = this machine's clock + offset, where offset = reference − local at the midpoint of the round
 * trip with the shortest duration (its error is at most half that round trip). Timers are durations,
 * so they need no correction. A jump of the offset behaves like a clock step, which the scheduler
 * already survives (it never computes a slot from now(), only from the slot it handled last).
 */
export function createOffsetClock(deps: OffsetClockDeps): OffsetClock {
  const { base, logger } = deps;
  const everyMs = deps.everyMs ?? 60_000;
  let offset = 0;
  let measured = false;
  let skewed = false;
  let failing = false;
  let timer: TimerHandle | undefined;
  let stopped = false;

  async function sample(): Promise<{ offset: number; roundTripMs: number }> {
    const sent = base.now();
    const at = await deps.reference();
    const received = base.now();
    return { offset: at - (sent + received) / 2, roundTripMs: received - sent };
  }

  async function measure(): Promise<void> {
    let best: { offset: number; roundTripMs: number } | undefined;
    try {
      for (let i = 0; i < (deps.samples ?? 3); i++) {
        const next = await sample();
        if (best === undefined || next.roundTripMs < best.roundTripMs) best = next;
      }
    } catch (error) {
      if (!failing) logger.warn({ err: error, offsetMs: offset }, `measuring the database clock failed; keeping the last offset (${offset} ms), next try in ${everyMs} ms`);
      failing = true;
      return;
    }
    failing = false;
    if (best === undefined || !Number.isFinite(best.offset)) return;
    // An offset within the measurement's own error (half the round trip, plus the 1 ms resolution of
    // this clock) cannot be told from none: applying it would only shift slots by noise.
    offset = Math.abs(best.offset) <= best.roundTripMs / 2 + 1 ? 0 : Math.round(best.offset);
    measured = true;
    report(best.roundTripMs);
  }

  function report(roundTripMs: number): void {
    const over = Math.abs(offset) > deps.maxSkewMs;
    if (over && !skewed) {
      const direction = offset > 0 ? 'behind' : 'ahead of';
      logger.warn(
        { offsetMs: offset, maxSkewMs: deps.maxSkewMs, roundTripMs },
        `this machine's clock is ${Math.abs(offset)} ms ${direction} the database's (more than DIRECTOR_CLOCK_SKEW_MAX_MS=${deps.maxSkewMs}): ` +
          'slots are timed by the database clock, but scripts and logs see a wrong time; sync this machine with NTP (chrony or systemd-timesyncd)',
      );
    } else if (!over && skewed) {
      logger.info({ offsetMs: offset, maxSkewMs: deps.maxSkewMs }, 'this machine\'s clock is within the allowed skew of the database\'s again');
    }
    skewed = over;
  }

  function schedule(): void {
    if (stopped) return;
    timer = base.setTimer(() => {
      void measure().finally(schedule);
    }, everyMs);
  }

  return {
    now: () => base.now() + offset,
    setTimer: (fn, ms) => base.setTimer(fn, ms),
    offsetMs: () => offset,
    async start() {
      if (measured || timer !== undefined) return;
      await measure();
      schedule();
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
    },
  };
}
