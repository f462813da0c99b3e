// How far fetching scripts may run ahead of the executors: a burst must not fetch 1,000 scripts before
// the first one runs.

/**
 * Director's event loop does both the fetching and the feeding of executors. Fetched all at once, a
 * burst of 1,000 runs keeps the loop busy with HTTP answers for its first ~250 ms while the executors,
 * whose "done" messages wait behind them, run a few scripts only. With at most `size` runs between
 * "fetch started" and "an executor took it", fetches follow the executors' pace instead: each start
 * lets one more fetch go, and scripts are still fetched ahead, enough to hide the fetch round trip.
 */
export interface FetchWindow {
  /** Resolves, in call order, when the run may fetch; call `release` once an executor took it or it ended. */
  enter(): Promise<Release>;
}

/** Idempotent: the first call frees the place, later ones do nothing. */
export type Release = () => void;

export function createFetchWindow(size: number): FetchWindow {
  let inside = 0;
  const waiting: Array<(release: Release) => void> = [];

  function place(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next !== undefined) next(place()); // the place passes on: `inside` stays
      else inside -= 1;
    };
  }

  return {
    enter() {
      if (inside < size) {
        inside += 1;
        return Promise.resolve(place());
      }
      return new Promise<Release>((resolve) => waiting.push(resolve));
    },
  };
}
