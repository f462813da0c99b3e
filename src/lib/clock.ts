// Time as a dependency: scheduler logic reads and waits through a Clock so tests can drive a fake one.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds, UTC. */
  now(): number;
  /** Calls `fn` once `ms` have passed. Long waits are fine: the clock splits what timers cannot hold. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

/** Node's timers overflow (and fire at once) past 2^31−1 ms, so longer waits are chained. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    let timer: NodeJS.Timeout;
    const deadline = Date.now() + ms;
    const arm = (wait: number): void => {
      timer = setTimeout(() => {
        const left = deadline - Date.now();
        if (left > 0) arm(left);
        else fn();
      }, Math.min(Math.max(0, wait), MAX_TIMER_MS));
    };
    arm(ms);
    return { cancel: () => clearTimeout(timer) };
  },
};
