// Each planned task's schedule state: one immutable value, changed only by the transitions below. Pure.
//
// A task is `planned` (nothing of it runs, waits or retries here), `running` (runs going, claims in
// flight, slots waiting their turn or a retry pending), `draining` (its end passed and it was deleted,
// but what was claimed still runs) or `ended` (nothing left: the scheduler forgets the plan). A slot
// waiting behind the running run is `queued` (a catch-up slot, claimed on its turn), `claiming` (its
// claim is in flight) or `claimed` (it holds its run). Transitions keep the phase consistent with the
// work: a `running` task whose last run ends becomes `planned`, a `draining` one `ended`.

import type { RunRecord } from '../domain/run.js';
import { isSlot } from '../domain/schedule.js';
import type { Task } from '../domain/task.js';
import type { TimerHandle } from '../lib/clock.js';

export type WaitingSlot =
  | { readonly kind: 'queued'; readonly slot: number }
  | { readonly kind: 'claiming'; readonly slot: number }
  | { readonly kind: 'claimed'; readonly slot: number; readonly run: RunRecord };

export interface PendingRetry {
  readonly slot: number;
  /** The attempt the retry will be. */
  readonly attempt: number;
  readonly timer: TimerHandle;
}

/** What of a task is going on here. */
export interface TaskWork {
  /** Runs dispatched here and not finished, plus claims and inserts in flight that would become runs. */
  readonly active: number;
  /** Slots waiting for the task's previous run, oldest first. */
  readonly waiting: readonly WaitingSlot[];
  readonly retry: PendingRetry | undefined;
}

export type TaskPhase =
  | { readonly kind: 'planned' }
  | ({ readonly kind: 'running' } & TaskWork)
  | ({ readonly kind: 'draining' } & TaskWork)
  | { readonly kind: 'ended' };

export interface TaskState {
  readonly task: Task;
  /** The newest slot handled here (run, skipped, missed or lost to another replica): never handled again. */
  readonly lastHandled: number | undefined;
  /** Slots not run because they were overdue (downtime, late wake-ups), since this process started. */
  readonly missed: number;
  /**
   * True while this process ran the task's newest slot itself, so no other replica's run can be
   * going; otherwise the overlap check asks the store for running runs first.
   */
  readonly knownIdle: boolean;
  /** Slots taken from the plan ahead of their instant (claimed early or deferred), oldest first. */
  readonly aheadSlots: readonly number[];
  readonly phase: TaskPhase;
}

const NO_WORK: TaskWork = { active: 0, waiting: [], retry: undefined };

export function newTaskState(task: Task, lastHandled: number | undefined, missed = 0): TaskState {
  return { task, lastHandled, missed, knownIdle: false, aheadSlots: [], phase: { kind: 'planned' } };
}

export function workOf(state: TaskState): TaskWork {
  const { phase } = state;
  return phase.kind === 'running' || phase.kind === 'draining' ? phase : NO_WORK;
}

/** Nothing of the task runs, waits or retries here: a slot can be claimed ahead of its instant. */
export function isIdle(state: TaskState): boolean {
  return state.phase.kind === 'planned' || state.phase.kind === 'ended';
}

/** Slots holding a run or a claim behind the running one (the overlap policy's "queued"); catch-up slots sit behind. */
export function queuedRuns(state: TaskState): number {
  return workOf(state).waiting.filter((w) => w.kind !== 'queued').length;
}

/** Catch-up slots wait: a due slot goes behind them rather than ahead. */
export function hasBacklog(state: TaskState): boolean {
  return workOf(state).waiting.some((w) => w.kind === 'queued');
}

export function isDraining(state: TaskState): boolean {
  return state.phase.kind === 'draining' || state.phase.kind === 'ended';
}

/** The phase follows the work: no work left is `planned` (or `ended` once draining); `ended` stays. */
function withWork(state: TaskState, work: TaskWork): TaskState {
  const kind = state.phase.kind;
  if (kind === 'ended') return state;
  const empty = work.active === 0 && work.waiting.length === 0 && work.retry === undefined;
  const draining = kind === 'draining';
  // Built field by field: `work` may be a phase object itself, whose `kind` must not leak in.
  const { active, waiting, retry } = work;
  const phase: TaskPhase = empty ? { kind: draining ? 'ended' : 'planned' } : { kind: draining ? 'draining' : 'running', active, waiting, retry };
  return { ...state, phase };
}

function changeWork(state: TaskState, change: (work: TaskWork) => Partial<TaskWork>): TaskState {
  const work = workOf(state);
  return withWork(state, { ...work, ...change(work) });
}

/** A newer version of the task (written here or by another replica); its slots claimed ahead off the new grid are no longer "next". */
export function taskReplaced(state: TaskState, task: Task): TaskState {
  return { ...state, task, aheadSlots: state.aheadSlots.filter((slot) => isSlot(task, slot)) };
}

/** Every slot up to `upTo` is dealt with; `missed` of them will never run. */
export function slotsHandled(state: TaskState, upTo: number, missed = 0): TaskState {
  return { ...state, lastHandled: Math.max(state.lastHandled ?? Number.NEGATIVE_INFINITY, upTo), missed: state.missed + missed };
}

/** One overdue slot is given up (the catch-up backlog is full). */
export function slotMissed(state: TaskState): TaskState {
  return { ...state, missed: state.missed + 1 };
}

export function aheadTaken(state: TaskState, slot: number): TaskState {
  return { ...state, aheadSlots: [...state.aheadSlots, slot] };
}

/** A slot taken ahead reached its instant, or its claim was given up. */
export function aheadDone(state: TaskState, slot: number): TaskState {
  const at = state.aheadSlots.indexOf(slot);
  if (at < 0) return state;
  return { ...state, aheadSlots: [...state.aheadSlots.slice(0, at), ...state.aheadSlots.slice(at + 1)] };
}

/** A run of the task begins here: claimed now, being claimed, or a retry or catch-up being inserted. */
export function runBegun(state: TaskState): TaskState {
  return changeWork(state, (work) => ({ active: work.active + 1 }));
}

/** A run counted by runBegun finished, or what would have become one did not. */
export function runEnded(state: TaskState): TaskState {
  return changeWork(state, (work) => ({ active: work.active - 1 }));
}

/** This process ran the task's newest slot: no run of it can be going elsewhere. */
export function ranHere(state: TaskState): TaskState {
  return state.knownIdle ? state : { ...state, knownIdle: true };
}

/** Another replica claimed a slot of the task: a run of it may be going there. */
export function claimedElsewhere(state: TaskState): TaskState {
  return state.knownIdle ? { ...state, knownIdle: false } : state;
}

export function slotWaits(state: TaskState, waiting: WaitingSlot): TaskState {
  return changeWork(state, (work) => ({ waiting: [...work.waiting, waiting] }));
}

/** The claim of a waiting slot answered with its run. */
export function waitingClaimed(state: TaskState, slot: number, run: RunRecord): TaskState {
  return changeWork(state, (work) => ({
    waiting: work.waiting.map((w) => (w.kind === 'claiming' && w.slot === slot ? { kind: 'claimed', slot, run } : w)),
  }));
}

/** The claim of a waiting slot failed or was not made: the slot leaves the queue. */
export function waitingWithdrawn(state: TaskState, slot: number): TaskState {
  return changeWork(state, (work) => {
    const at = work.waiting.findIndex((w) => w.kind === 'claiming' && w.slot === slot);
    return at < 0 ? {} : { waiting: [...work.waiting.slice(0, at), ...work.waiting.slice(at + 1)] };
  });
}

/**
 * The task is idle: its first waiting slot takes its turn (counted as a run begun). Undefined `next`
 * when nothing waits, or the first is still being claimed (its claim's answer tries again).
 */
export function nextWaitingTaken(state: TaskState): { readonly state: TaskState; readonly next: WaitingSlot | undefined } {
  const work = workOf(state);
  const next = work.waiting[0];
  if (next === undefined || next.kind === 'claiming' || work.active > 0 || work.retry !== undefined) return { state, next: undefined };
  return { state: withWork(state, { ...work, active: work.active + 1, waiting: work.waiting.slice(1) }), next };
}

/**
 * Nothing waits any more: claimed runs are returned (to be recorded as skipped), unclaimed catch-up
 * slots count as missed. A slot still being claimed is cancelled when its claim answers.
 */
export function waitingCancelled(state: TaskState): { readonly state: TaskState; readonly runs: readonly RunRecord[] } {
  const waiting = workOf(state).waiting;
  const runs = waiting.flatMap((w) => (w.kind === 'claimed' ? [w.run] : []));
  const missed = waiting.filter((w) => w.kind === 'queued').length;
  const cleared = changeWork(state, () => ({ waiting: [] }));
  return { state: missed === 0 ? cleared : { ...cleared, missed: cleared.missed + missed }, runs };
}

export function retryPlanned(state: TaskState, retry: PendingRetry): TaskState {
  return changeWork(state, () => ({ retry }));
}

/** The pending retry fired or was dropped (the caller cancels its timer and records why). */
export function retryCleared(state: TaskState): TaskState {
  return changeWork(state, () => ({ retry: undefined }));
}

/** Its end passed and this process deleted it: what runs or waits still finishes, then it is `ended`. */
export function endReached(state: TaskState): TaskState {
  if (state.phase.kind === 'ended' || state.phase.kind === 'draining') return state;
  return withWork({ ...state, phase: { kind: 'draining', ...NO_WORK } }, workOf(state));
}
