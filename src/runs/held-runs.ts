// Which running runs this process holds, so that lease renewal extends those and no others.

import type { RunRecord } from '../domain/run.js';
import type { DirectorEvents } from '../lib/events.js';

/**
 * Renewing "every running run of my owner name" would keep alive rows this process no longer knows
 * of: a claim that committed but whose answer was lost with the connection, or the runs of a crashed
 * predecessor started under the same DIRECTOR_INSTANCE_ID. Those must expire and become `lost`. So a
 * run is held from the moment the store hands it to this process as running (the scheduler's claims
 * and retry inserts, the runner's `run:started`) until its end is written (the scheduler's cancels,
 * the runner's `run:finished`) or it is declared lost; the lease keeper renews exactly these.
 */
export interface HeldRuns {
  /** A run the store answered with: held when it is running and this process's. */
  hold(run: RunRecord | undefined): void;
  /** Its end is written (or it was declared lost): its lease is left alone from now on. */
  release(runId: number): void;
  ids(): number[];
  /** Holds every run the runner starts and releases it once it finished; returns the unsubscribe. */
  follow(events: DirectorEvents): () => void;
}

export function createHeldRuns(owner: string): HeldRuns {
  const held = new Set<number>();
  const hold = (run: RunRecord | undefined): void => {
    if (run !== undefined && run.status === 'running' && run.owner === owner) held.add(run.id);
  };
  const release = (runId: number): void => {
    held.delete(runId);
  };
  return {
    hold,
    release,
    ids: () => [...held],
    follow(events) {
      const offStarted = events.on('run:started', hold);
      // run:finished comes once the outcome was written (or given up at shutdown), and for runs declared lost.
      const offFinished = events.on('run:finished', (run) => release(run.id));
      return () => {
        offStarted();
        offFinished();
      };
    },
  };
}
