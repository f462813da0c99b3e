// Which overdue slots run, per the task's catch-up policy, after downtime or a late wake-up. Pure.

import { countSlotsBetween, latestSlotsBetween, slotAtOrBefore, type SlotSpec } from '../domain/schedule.js';
import type { CatchUpPolicy } from '../domain/task.js';

/**
 * - `down`: Director was not running (start-up). `skip` runs nothing, as the original did.
 * - `late`: Director was running but woke after more than one slot had passed (event loop blocked,
 *   machine suspended, clock stepped forward). The newest overdue slot is "now", so even `skip` runs it.
 */
export type OverdueCause = 'down' | 'late';

export interface CatchUpInput {
  readonly spec: SlotSpec;
  readonly policy: CatchUpPolicy;
  /** Every slot at or before this instant is handled already (run, skipped or not meant to run). */
  readonly handledMs: number;
  /** Slots in (handledMs, overdueUntilMs] are overdue. */
  readonly overdueUntilMs: number;
  /** Most overdue slots `all` replays (config.catchUpMax); older ones are missed. */
  readonly max: number;
  readonly cause: OverdueCause;
}

export interface CatchUpPlan {
  /** Slots to run now, oldest first. */
  readonly run: readonly number[];
  /** Overdue slots that will not run. */
  readonly missed: number;
  /** The newest missed slot: recorded as a skipped run so the gap is visible in the run history. */
  readonly missedLatest: number | undefined;
  /** Every overdue slot is dealt with: the next slot to plan is the first one after this. */
  readonly resumeAfterMs: number;
}

export function planCatchUp(input: CatchUpInput): CatchUpPlan {
  const { spec, handledMs, overdueUntilMs } = input;
  const overdue = countSlotsBetween(spec, handledMs, overdueUntilMs);
  const last = slotAtOrBefore(spec, overdueUntilMs);
  if (overdue === 0 || last === undefined) {
    return { run: [], missed: 0, missedLatest: undefined, resumeAfterMs: handledMs };
  }
  const policy = input.cause === 'late' && input.policy === 'skip' ? 'once' : input.policy;
  let run: number[];
  if (policy === 'skip') run = [];
  else if (policy === 'once') run = [last];
  else run = latestSlotsBetween(spec, handledMs, overdueUntilMs, Math.max(1, input.max));
  const missed = overdue - run.length;
  // `once` and `all` run the newest slots, so the newest missed one sits just before the first run.
  const oldestRun = run[0];
  const missedLatest = missed === 0 ? undefined : oldestRun === undefined ? last : slotAtOrBefore(spec, oldestRun - 1);
  return { run, missed, missedLatest, resumeAfterMs: last };
}

/** The text of the skipped run that records missed slots. */
export function missedReason(missed: number, cause: OverdueCause, latenessMs: number): string {
  const slots = missed === 1 ? '1 slot' : `${missed} slots`;
  return cause === 'down'
    ? `missed ${slots} while Director was not running (catch-up policy decides what is replayed)`
    : `missed ${slots}: Director woke ${latenessMs} ms late (event loop blocked, machine suspended or clock stepped forward)`;
}
