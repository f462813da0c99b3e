// A backfill as the API answers it, and how far along it is: done of its slots, and how they ended.

export type BackfillStatus = 'running' | 'cancelling' | 'completed' | 'cancelled';

/** Slots by the outcome of their last attempt; `pending`: not started yet. */
export interface BackfillCounts {
  readonly pending: number;
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timed_out: number;
  readonly skipped: number;
  readonly lost: number;
}

/** GET /api/v1/tasks/{id}/backfills (one element), /api/v1/backfills/{id}, and what POST and cancel answer. */
export interface BackfillView {
  readonly id: number;
  readonly taskId: string;
  readonly status: BackfillStatus;
  readonly fromMs: number;
  readonly toMs: number;
  readonly concurrency: number;
  readonly slots: number;
  /** Null when the server has none (an ended backfill whose counts were not kept). */
  readonly counts: BackfillCounts | null;
  readonly nextSlotAt: string | null;
  readonly requestedBy: string;
  /** Why it was cancelled ("cancelled by otto", or its task was deleted); null otherwise. */
  readonly reason: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

export const BACKFILL_STATUS_LABEL: Readonly<Record<BackfillStatus, string>> = {
  running: 'Running',
  cancelling: 'Cancelling',
  completed: 'Completed',
  cancelled: 'Cancelled',
};

/** Active: the server still has work for it, so what it shows changes (the dashboard polls). */
export function isActiveBackfill(status: BackfillStatus): boolean {
  return status === 'running' || status === 'cancelling';
}

export interface BackfillProgress {
  /** Slots whose last attempt ended, whatever the outcome. */
  readonly done: number;
  readonly total: number;
  /** Whole percent, rounded down: 100 only once every slot is done. */
  readonly percent: number;
  /** Ended other than succeeded: failed, timed out or lost (skipped is said apart: nothing ran). */
  readonly failed: number;
  /** "3 of 5 slots done (60%)". */
  readonly label: string;
  /** The outcomes that occurred, in words ("3 succeeded", "1 failed", "1 running"); `bad`: failed, timed out, lost. */
  readonly outcomes: ReadonlyArray<{ readonly text: string; readonly bad: boolean }>;
}

const OUTCOME_WORDS: ReadonlyArray<readonly [keyof BackfillCounts, string, boolean]> = [
  ['succeeded', 'succeeded', false],
  ['failed', 'failed', true],
  ['timed_out', 'timed out', true],
  ['lost', 'lost', true],
  ['skipped', 'skipped', false],
  ['running', 'running', false],
];

/**
 * Done = slots − pending − running. Without counts, an ended backfill is taken as done as far as it
 * got: a completed one wholly, a cancelled one is unknown (0), so its bar never claims more than it knows.
 */
export function backfillProgress(backfill: Pick<BackfillView, 'slots' | 'counts' | 'status'>): BackfillProgress {
  const total = Math.max(0, backfill.slots);
  const { counts } = backfill;
  const done = counts === null
    ? (backfill.status === 'completed' ? total : 0)
    : Math.min(total, Math.max(0, total - counts.pending - counts.running));
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  const failed = counts === null ? 0 : counts.failed + counts.timed_out + counts.lost;
  const outcomes = counts === null ? [] : OUTCOME_WORDS.filter(([key]) => counts[key] > 0).map(([key, words, bad]) => ({ text: `${counts[key].toLocaleString('en')} ${words}`, bad }));
  const slots = total === 1 ? 'slot' : 'slots';
  return { done, total, percent, failed, label: `${done.toLocaleString('en')} of ${total.toLocaleString('en')} ${slots} done (${percent}%)`, outcomes };
}
