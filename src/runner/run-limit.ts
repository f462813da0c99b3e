// The bound on runs in progress (fetching or executing): runs beyond it wait in the order they came.

/**
 * The bound comes from memory, not from the CPU count: a run waiting on I/O costs no CPU, only the
 * memory of its worker (strict) or of its pending work (trusted). See maxRunsDefault in config.ts.
 */
export interface RunLimit {
  /** Resolves, in call order, when the run may start; call `release` once it has ended. */
  enter(): Promise<Release>;
  /** Runs waiting for a place. */
  waiting(): number;
  /** Runs holding a place. */
  inside(): number;
}

/** Idempotent: the first call frees the place, later ones do nothing. */
export type Release = () => void;

export function createRunLimit(size: number): RunLimit {
  let inside = 0;
  const queue: Array<(release: Release) => void> = [];

  function place(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
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
      return new Promise<Release>((resolve) => queue.push(resolve));
    },
    waiting: () => queue.length,
    inside: () => inside,
  };
}
