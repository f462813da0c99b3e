// Which replica claims a task's slots first: rendezvous hashing over the replicas the database sees live.

import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { ClaimSharing } from '../scheduler/scheduler-context.js';
import type { ClusterStore } from '../store/store.js';

export interface ClaimSharingDeps {
  readonly store: Pick<ClusterStore, 'liveReplicas'>;
  readonly instanceId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often the list of live replicas is read again. */
  readonly refreshMs?: number;
}

export interface ReplicaSharing extends ClaimSharing {
  /** The live replicas as last read (empty until then, or when reading fails). */
  replicas(): readonly string[];
  /** Reads the live replicas once, then keeps reading them every refreshMs. */
  start(): Promise<void>;
  /** Reads them now (another replica announced it stops claiming), besides the periodic reads. */
  refresh(): Promise<void>;
  stop(): void;
}

/**
 * Long enough for the preferred replica's claim (made 100 ms ahead of the instant) to have committed,
 * short enough that a slot whose preferred replica just died runs only this much late.
 */
export const YIELD_MS = 30;

/**
 * Each task is preferred by the live replica with the highest hash(replica, task): every replica
 * computes the same answer from the same list, without talking to the others; tasks spread evenly;
 * and when a replica dies or joins, only its share of the tasks moves. While the lists differ (a
 * replica just joined or died), a task may briefly have two preferred replicas or none: the claim
 * still decides, so this only costs a few ms of lateness, never a duplicate or a missed slot.
 */
export function createClaimSharing(deps: ClaimSharingDeps): ReplicaSharing {
  const { store, instanceId, clock, logger } = deps;
  const refreshMs = deps.refreshMs ?? 1000;
  let live: readonly string[] = [];
  let timer: TimerHandle | undefined;
  let stopped = false;
  let failing = false;

  async function refresh(): Promise<void> {
    let next: string[];
    try {
      next = await store.liveReplicas();
    } catch (error) {
      if (!failing) logger.warn({ err: error }, `reading the live replicas failed; claiming every slot at once until it works (retrying every ${refreshMs} ms)`);
      failing = true;
      live = [];
      return;
    }
    failing = false;
    if (next.join('\n') !== live.join('\n')) {
      const share = next.includes(instanceId) ? `1/${next.length}` : 'none (not live: its change watch is disconnected)';
      logger.info({ replicas: next }, `live replicas: ${next.length}; this one claims first for ${share} of the tasks`);
    }
    live = next;
  }

  function schedule(): void {
    if (stopped) return;
    timer = clock.setTimer(() => void refresh().finally(schedule), refreshMs);
  }

  return {
    yieldMs: YIELD_MS,
    prefers(taskId) {
      // Nobody known (first read pending or failing): claim at once, as a single Director would.
      if (live.length === 0) return true;
      if (!live.includes(instanceId)) return false;
      return preferredReplica(live, taskId) === instanceId;
    },
    replicas: () => live,
    refresh: () => (stopped ? Promise.resolve() : refresh()),
    async start() {
      stopped = false;
      await refresh();
      schedule();
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
    },
  };
}

/** The replica with the highest score for the task; ties (never in practice) go to the smaller name. */
export function preferredReplica(replicas: readonly string[], taskId: string): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const replica of replicas) {
    const score = mix(fnv1a(`${replica}\u0000${taskId}`));
    if (score > bestScore || (score === bestScore && best !== undefined && replica < best)) {
      best = replica;
      bestScore = score;
    }
  }
  return best;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** murmur3's finaliser: FNV alone leaves similar names (director-1, director-2) with correlated scores. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
