// Backfills: running the slots of a past range again, on request (issue #17). Pure: no clock, no I/O.
//
// Glossary
// - backfill: an operator's request to run each slot of a task's schedule in [from, to) once more,
//   in slot order, at most `concurrency` at once. Its runs have trigger `backfill` and their own claim
//   key (backfill, slot, attempt): a slot that already has a scheduled run gets one more row beside it.
// - schedule snapshot: the task's slot spec when the backfill was requested. Its slots are the
//   backfill's, whatever the task's schedule becomes meanwhile, so the count and progress stay fixed.
// - next slot: the earliest slot no replica has claimed yet; null once all of them are.
// - version: raised by every claim. A claim names the version it read, so of two replicas that read
//   the same progress only one claims (a compare-and-set); the other reads again.
// - re-run: a slot whose last attempt was lost (its replica died) or killed at shutdown is claimed
//   again as attempt + 1, up to BACKFILL_MAX_ATTEMPTS: neither is the script's own outcome.

import type { RunStatus } from './run.js';
import { nextSlot, type SlotSpec } from './schedule.js';

/**
 * `running`: slots are being claimed. `cancelling`: cancelled, runs in flight still finishing; no slot
 * starts any more. `completed`: every slot ran. `cancelled`: ended early (by request, or its task was
 * deleted) once nothing of it was running.
 */
export type BackfillStatus = 'running' | 'cancelling' | 'completed' | 'cancelled';
export const BACKFILL_STATUSES: readonly BackfillStatus[] = ['running', 'cancelling', 'completed', 'cancelled'];

/** How many slots of a backfill are where: `pending` were never claimed, the rest by their last attempt. */
export type BackfillCounts = Readonly<Record<RunStatus | 'pending', number>>;

export interface BackfillRecord {
  readonly id: number;
  readonly taskId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly schedule: SlotSpec;
  /** How many slots lie in [from, to) (fixed at creation). */
  readonly slots: number;
  readonly concurrency: number;
  readonly status: BackfillStatus;
  readonly nextSlot: number | null;
  readonly version: number;
  /** Who asked: the API token's name (`anonymous` without tokens). */
  readonly requestedBy: string;
  /** Why it was cancelled (by whom, or that its task was deleted); null otherwise. */
  readonly reason: string | null;
  readonly createdMs: number;
  readonly finishedMs: number | null;
  /** Frozen when it ends (runs may be trimmed later); null while it is active (counted from its runs). */
  readonly counts: BackfillCounts | null;
}

/** Active: the backfill driver still has work for it (claims, or waiting for its runs to finish). */
export function isActive(status: BackfillStatus): boolean {
  return status === 'running' || status === 'cancelling';
}

/** Attempts of one slot, re-runs of lost ones included: a script that keeps killing replicas stops here. */
export const BACKFILL_MAX_ATTEMPTS = 3;
/** At most this many runs of one backfill at once. */
export const MAX_BACKFILL_CONCURRENCY = 100;

export type BackfillRange =
  | { readonly ok: true; readonly slots: number; readonly firstSlot: number }
  | { readonly ok: false; readonly reason: 'no-slots' | 'too-many' };

/**
 * The slots of `spec` in [fromMs, toMs): how many, and the first. An interval task's are counted by
 * arithmetic; a cron task's are stepped through, so counting stops past `maxSlots`.
 */
export function backfillRange(spec: SlotSpec, fromMs: number, toMs: number, maxSlots: number): BackfillRange {
  const first = nextSlot(spec, fromMs - 1);
  if (first === undefined || first >= toMs) return { ok: false, reason: 'no-slots' };
  let slots: number;
  if (spec.cron == null && spec.intervalMs !== null) {
    const lastBefore = Math.min(toMs, spec.endMs ?? Infinity) - 1;
    slots = Math.floor((lastBefore - first) / spec.intervalMs) + 1;
  } else {
    slots = 0;
    for (let slot: number | undefined = first; slot !== undefined && slot < toMs && slots <= maxSlots; slot = nextSlot(spec, slot)) slots++;
  }
  return slots > maxSlots ? { ok: false, reason: 'too-many' } : { ok: true, slots, firstSlot: first };
}

/** Up to `count` slots from `from` (included) that lie before `toMs`, and the next slot after them (null: none left). */
export function slotsFrom(spec: SlotSpec, from: number, toMs: number, count: number): { readonly slots: number[]; readonly next: number | null } {
  const slots: number[] = [];
  let slot: number | undefined = from;
  while (slot !== undefined && slot < toMs && slots.length < count) {
    slots.push(slot);
    slot = nextSlot(spec, slot);
  }
  return { slots, next: slot !== undefined && slot < toMs ? slot : null };
}
