// What a slot does when the task's previous run may still be going, per the task's overlap policy. Pure.

import type { OverlapPolicy } from '../domain/task.js';

export type OverlapDecision =
  | { readonly action: 'run' }
  | { readonly action: 'queue' }
  | { readonly action: 'skip'; readonly reason: string };

export interface TaskActivity {
  /** Runs of the task going on here, including ones being claimed right now. */
  readonly active: number;
  /** Slots already waiting for their turn. */
  readonly waiting: number;
  /** A run of the task held by another Director process (seen in the store), if any. */
  readonly remoteOwner?: string | undefined;
}

export function decideOverlap(policy: OverlapPolicy, activity: TaskActivity): OverlapDecision {
  const busy = activity.active > 0 || activity.waiting > 0 || activity.remoteOwner !== undefined;
  if (!busy || policy === 'allow') return { action: 'run' };
  if (policy === 'queue') {
    // This process cannot see when another replica's run ends, so it cannot hold a slot behind it.
    if (activity.remoteOwner !== undefined) {
      return { action: 'skip', reason: `overlap: the previous run is still going on ${activity.remoteOwner}` };
    }
    if (activity.waiting === 0) return { action: 'queue' };
    return { action: 'skip', reason: 'overlap: a slot is already queued behind the run still going' };
  }
  const where = activity.remoteOwner === undefined ? '' : ` on ${activity.remoteOwner}`;
  return { action: 'skip', reason: `overlap: the previous run is still going${where}` };
}
