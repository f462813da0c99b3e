// What endBackfill writes: decided alike by both stores, from the row and running runs they read under their lock.

import type { BackfillStatus } from '../domain/backfill.js';
import type { BackfillEnd } from './store.js';

export interface BackfillEndWrite {
  readonly status: Exclude<BackfillStatus, 'running'>;
  /** The new reason; null keeps the one it has (cancel-done keeps why it was cancelled). */
  readonly reason: string | null;
  /** Null while it is only cancelling: it has not ended. */
  readonly finishedMs: number | null;
  /** Its counts are frozen now (it ended): its runs may be trimmed from here on. */
  readonly freeze: boolean;
}

/**
 * `running` counts every run of the backfill still marked running, a dead replica's included: until a
 * sweep declares such a run lost it may still need a re-run, so nothing ends over it.
 */
export function backfillEndWrite(current: { readonly status: string; readonly version: number }, running: number, end: BackfillEnd): BackfillEndWrite | undefined {
  switch (end.status) {
    case 'completed':
      if (current.status !== 'running' || current.version !== end.version || running > 0) return undefined;
      return { status: 'completed', reason: null, finishedMs: end.nowMs, freeze: true };
    case 'cancelled':
      if (current.status !== 'running') return undefined;
      return running > 0
        ? { status: 'cancelling', reason: end.reason, finishedMs: null, freeze: false }
        : { status: 'cancelled', reason: end.reason, finishedMs: end.nowMs, freeze: true };
    case 'cancel-done':
      if (current.status !== 'cancelling' || running > 0) return undefined;
      return { status: 'cancelled', reason: null, finishedMs: end.nowMs, freeze: true };
  }
}
