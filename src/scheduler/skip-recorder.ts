// Writes slots that will not run (overlap, missed, dropped retries) as `skipped` runs, in the background.

import type { SchedulerContext } from './scheduler-context.js';
import { yieldToLoop } from './scheduler-context.js';

export interface SkippedSlot {
  readonly taskId: string;
  readonly slot: number;
  readonly attempt: number;
  readonly reason: string;
}

/**
 * A burst of skips is written a few per event-loop turn, so that due slots of other tasks are never
 * stuck behind it; the few are issued together, and the SQLite store commits them as one transaction
 * with one fsync (group commit). The insert
 * is conditional on (task, slot, attempt) like a claim, so a slot that another replica has run is
 * simply not recorded twice.
 */
const PER_TURN = 16;

export function createSkipRecorder(ctx: SchedulerContext) {
  const queue: SkippedSlot[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const chunk = queue.splice(0, PER_TURN);
        await Promise.all(chunk.map((skip) => ctx.store.insertRun({
          taskId: skip.taskId,
          slot: skip.slot,
          attempt: skip.attempt,
          trigger: 'schedule',
          owner: ctx.config.instanceId,
          nowMs: ctx.clock.now(),
          leaseMs: ctx.config.leaseMs,
          skipped: { reason: skip.reason },
        })));
        if (queue.length > 0) await yieldToLoop();
      }
    } finally {
      draining = false;
    }
  }

  return {
    record(skip: SkippedSlot): void {
      queue.push(skip);
      if (draining) return;
      draining = true;
      ctx.track(drain(), 'recording skipped slots');
    },
  };
}

export type SkipRecorder = ReturnType<typeof createSkipRecorder>;
