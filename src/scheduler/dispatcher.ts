// Due slots → overlap decision → one batched claim → dispatch of the slots this process won.
// Slots coming within the claim window are claimed ahead and dispatched at their instant.

import type { RunRecord } from '../domain/run.js';
import { isSlot } from '../domain/schedule.js';
import type { ClaimRequest } from '../store/store.js';
import type { AheadItem, AheadQueue } from './ahead-queue.js';
import { decideOverlap } from './overlap.js';
import type { RunLifecycle } from './run-lifecycle.js';
import { isCurrent, iso, STORE_CHUNK, type SchedulerContext } from './scheduler-context.js';
import type { SkipRecorder } from './skip-recorder.js';
import type { TaskPlan } from './task-plan.js';
import { aheadDone, aheadTaken, claimedElsewhere, hasBacklog, isIdle, queuedRuns, runBegun, runEnded, slotMissed, slotWaits, waitingClaimed, waitingWithdrawn, workOf } from './task-state.js';

/** Slots of one task to handle, oldest first (several after downtime or a late wake-up). */
export interface DueSlots {
  readonly plan: TaskPlan;
  readonly slots: readonly number[];
}

interface Claim {
  readonly plan: TaskPlan;
  readonly slot: number;
  /** `now`: run at once; `queue`: wait behind the running one; `ahead`: hold until the slot's instant. */
  readonly mode: 'now' | 'ahead' | 'queue';
}

type SlotItem = Extract<AheadItem, { kind: 'slot' }>;

/** A slot to decide once the store says whether a run of the task is going elsewhere. */
interface Pending {
  readonly plan: TaskPlan;
  readonly slot: number;
  /** Taken from the plan before its instant (it is in plan.aheadSlots until decided). */
  readonly ahead?: boolean;
}

const key = (taskId: string, slot: number): string => `${slot}\u0000${taskId}`;
const CHANGED = 'not started: the task was stopped, deleted or rescheduled after its slot was claimed';

export function createDispatcher(ctx: SchedulerContext, skips: SkipRecorder, runs: RunLifecycle, ahead: AheadQueue) {
  const { store, held, clock, config, events, sharing } = ctx;
  const owner = config.instanceId;
  const preferred = (plan: TaskPlan): boolean => sharing === undefined || sharing.prefers(plan.task.id);

  /**
   * Decides synchronously, so that the in-memory counts (`active`, `waiting`) already include every
   * slot of this wake-up before the next wake-up looks at them; only the claim itself is awaited.
   */
  function handle(due: readonly DueSlots[], now: number): void {
    const claims: Claim[] = [];
    const unknown: Pending[] = [];
    const yieldedAhead: Pending[] = [];
    for (const { plan, slots } of due) {
      const [first, ...rest] = slots;
      if (first === undefined || !isCurrent(ctx, plan)) continue;
      if (first > now && !preferred(plan)) {
        // Left to the preferred replica: not claimed ahead, and not worth a wake-up at its instant.
        plan.update((s) => aheadTaken(s, first));
        yieldedAhead.push({ plan, slot: first, ahead: true });
        continue;
      }
      if (first > now) {
        takeAhead(plan, first, claims);
        continue;
      }
      const overlap = plan.task.settings.overlap;
      if (overlap !== 'allow') runs.dropRetry(plan, `retry dropped: slot ${iso(first)} has come`);
      const backlog = hasBacklog(plan.state);
      // Several overdue slots (catch-up "all") run one after another unless overlap allows them together.
      const current = overlap === 'allow' ? slots : backlog ? [] : [first];
      const later = overlap === 'allow' ? [] : backlog ? slots : rest;
      for (const slot of current) {
        if (plan.state.knownIdle) decide(plan, slot, undefined, claims);
        else unknown.push({ plan, slot });
      }
      for (const slot of later) addBacklog(plan, slot);
    }
    if (sharing === undefined) {
      ctx.track(checkThenClaim(unknown, claims), 'claiming due slots');
      return;
    }
    // Slots of tasks another replica is preferred for are claimed a little later: it wins them unless it is gone.
    const first = (c: { plan: TaskPlan }): boolean => preferred(c.plan);
    ctx.track(checkThenClaim(unknown.filter(first), claims.filter(first)), 'claiming due slots');
    const later = [...yieldedAhead, ...unknown.filter((c) => !first(c))];
    const laterClaims = claims.filter((c) => !first(c));
    if (later.length + laterClaims.length > 0) yieldToPreferred(sharing.yieldMs, later, laterClaims, now);
  }

  /** Slots left to their preferred replica, gathered into one late batch: one check and one claim. */
  let yielded: { readonly at: number; readonly unknown: Pending[]; readonly claims: Claim[] } | undefined;

  /**
   * Claimed `yieldMs` after the latest instant among them (the preferred replica claims ahead of it,
   * or at it): every replica claims what is left, and only what a dead or slow replica left is won.
   * A wake-up's yielded slots become one batch, a few per second instead of a round trip per slot.
   */
  function yieldToPreferred(yieldMs: number, unknown: readonly Pending[], claims: readonly Claim[], now: number): void {
    let latest = now;
    for (const item of [...unknown, ...claims]) latest = Math.max(latest, item.slot);
    if (yielded !== undefined && latest + yieldMs <= yielded.at) {
      yielded.unknown.push(...unknown);
      yielded.claims.push(...claims);
      return;
    }
    const batch = { at: latest + yieldMs, unknown: [...unknown], claims: [...claims] };
    yielded = batch;
    const waited = new Promise<void>((resolve) => clock.setTimer(resolve, batch.at - clock.now()));
    ctx.track(waited.then(() => {
      if (yielded === batch) yielded = undefined;
      for (const item of batch.unknown) {
        if (!item.ahead) continue;
        item.plan.update((s) => aheadDone(s, item.slot));
        if (isCurrent(ctx, item.plan) && item.plan.task.settings.overlap !== 'allow') runs.dropRetry(item.plan, `retry dropped: slot ${iso(item.slot)} has come`);
      }
      return checkThenClaim(batch.unknown, batch.claims);
    }), 'claiming due slots left by the preferred replica');
  }

  /** An idle task's coming slot is claimed now; a busy or unknown one is decided at its instant. */
  function takeAhead(plan: TaskPlan, slot: number, claims: Claim[]): void {
    const state = plan.update((s) => aheadTaken(s, slot));
    const free = plan.task.settings.overlap === 'allow' || isIdle(state);
    if (state.knownIdle && free) claims.push({ plan, slot, mode: 'ahead' });
    else ahead.push({ kind: 'slot', plan, at: slot, run: null });
  }

  /**
   * At a slot's instant: start what was claimed ahead, decide what was not. A burst is handed over
   * in one go: handing it over in steps with yields measured worse here, because the completions of
   * the first runs (durable writes) then interleave with handing over the rest.
   */
  function dispatchAhead(items: readonly SlotItem[], now: number): void {
    const fresh: DueSlots[] = [];
    for (const { plan, at: slot, run } of items) {
      plan.update((s) => aheadDone(s, slot));
      if (run === null) {
        fresh.push({ plan, slots: [slot] });
        continue;
      }
      if (!isCurrent(ctx, plan) || !isSlot(plan.task, slot)) {
        runs.cancelRun(run, CHANGED);
        continue;
      }
      const overlap = plan.task.settings.overlap;
      if (overlap !== 'allow') runs.dropRetry(plan, `retry dropped: slot ${iso(slot)} has come`);
      const decision = decideOverlap(overlap, { active: workOf(plan.state).active, waiting: queuedRuns(plan.state) });
      if (decision.action === 'skip') {
        runs.cancelRun(run, decision.reason);
      } else if (decision.action === 'queue') {
        plan.update((s) => slotWaits(s, { kind: 'claimed', slot, run }));
      } else {
        plan.update(runBegun);
        runs.startRun(plan, run);
      }
    }
    if (fresh.length > 0) handle(fresh, now);
  }

  function decide(plan: TaskPlan, slot: number, remoteOwner: string | undefined, claims: Claim[]): void {
    const decision = decideOverlap(plan.task.settings.overlap, { active: workOf(plan.state).active, waiting: queuedRuns(plan.state), remoteOwner });
    if (decision.action === 'skip') {
      skips.record({ taskId: plan.task.id, slot, attempt: 1, reason: decision.reason });
      // Catch-up slots behind a skipped one must not stall when nothing of the task runs here.
      runs.drain(plan);
      return;
    }
    if (decision.action === 'run') {
      plan.update(runBegun);
      claims.push({ plan, slot, mode: 'now' });
      return;
    }
    plan.update((s) => slotWaits(s, { kind: 'claiming', slot }));
    claims.push({ plan, slot, mode: 'queue' });
  }

  function addBacklog(plan: TaskPlan, slot: number): void {
    if (workOf(plan.state).waiting.length >= config.catchUpMax) {
      plan.update(slotMissed);
      skips.record({ taskId: plan.task.id, slot, attempt: 1, reason: `missed: ${config.catchUpMax} slots already wait to catch up` });
      return;
    }
    plan.update((s) => slotWaits(s, { kind: 'queued', slot }));
  }

  /**
   * A task whose newest slot this process did not run itself may have a run going on another
   * replica: ask the store before deciding (all tasks at once). A run whose lease has expired is dead,
   * not going, and a run of this very slot is not a previous run: another replica claimed it.
   */
  async function checkThenClaim(unknown: readonly Pending[], claims: Claim[]): Promise<void> {
    if (unknown.length > 0 && ctx.isActive() && !ctx.claimsPaused()) {
      const now = clock.now();
      const ids = [...new Set(unknown.map((u) => u.plan.task.id))];
      let running: Map<string, RunRecord[]>;
      try {
        const found = await store.runningRuns(ids);
        running = new Map(ids.map((id) => [id, []]));
        for (const run of found) running.get(run.taskId)?.push(run);
      } catch (error) {
        for (const claim of claims) release(claim);
        ctx.claimFailed(error, [...claims, ...unknown]);
        return;
      }
      for (const { plan, slot } of unknown) {
        if (!isCurrent(ctx, plan)) continue;
        const going = running.get(plan.task.id)?.find((r) => r.slot !== slot && (r.leaseUntilMs === null || r.leaseUntilMs >= now));
        decide(plan, slot, going === undefined ? undefined : going.owner === owner ? 'this Director' : going.owner, claims);
      }
    } else if (unknown.length > 0) {
      ctx.claimFailed(undefined, unknown.filter((u) => ctx.isActive() && isCurrent(ctx, u.plan)));
    }
    await claimAll(claims);
  }

  async function claimAll(claims: readonly Claim[]): Promise<void> {
    if (claims.length === 0) return;
    // No yield to the event loop between chunks: it would let the completions of the first runs
    // (each a durable write) go ahead of dispatching the rest, and lateness grows with the burst.
    for (let i = 0; i < claims.length; i += STORE_CHUNK) await claimChunk(claims.slice(i, i + STORE_CHUNK));
    if (claims.some((c) => c.mode === 'ahead')) ctx.rearm();
  }

  async function claimChunk(chunk: readonly Claim[]): Promise<void> {
    if (!ctx.isActive() || ctx.claimsPaused()) {
      // Stopped: nothing new is claimed. Paused: the slots wait in their plans for the store to answer.
      for (const claim of chunk) release(claim);
      if (ctx.isActive()) ctx.claimFailed(undefined, chunk);
      return;
    }
    const nowMs = clock.now();
    const requests: ClaimRequest[] = chunk.map((c) => ({ taskId: c.plan.task.id, slot: c.slot, owner, nowMs, leaseMs: config.leaseMs }));
    let won: RunRecord[];
    try {
      won = await store.claimSlots(requests);
    } catch (error) {
      for (const claim of chunk) release(claim);
      ctx.claimFailed(error, chunk);
      return;
    }
    const byKey = new Map<string, RunRecord>();
    for (const run of won) held.hold(run);
    for (const run of won) if (run.slot !== null) byKey.set(key(run.taskId, run.slot), run);
    for (const claim of chunk) {
      const run = byKey.get(key(claim.plan.task.id, claim.slot));
      if (run === undefined) {
        // Another replica owns this slot (or a restart already recorded it): it is not ours to run.
        claim.plan.update(claimedElsewhere);
        release(claim);
        runs.drain(claim.plan);
        continue;
      }
      events.emit('slot:claimed', { taskId: run.taskId, slot: claim.slot, runId: run.id });
      won1(claim, run);
    }
  }

  function won1(claim: Claim, run: RunRecord): void {
    const { plan, mode } = claim;
    // The task may have been stopped, deleted or rescheduled while the claim was in flight.
    if (!isCurrent(ctx, plan) || !isSlot(plan.task, claim.slot)) {
      release(claim);
      runs.cancelRun(run, CHANGED);
      return;
    }
    if (mode === 'ahead') ahead.push({ kind: 'slot', plan, at: claim.slot, run });
    else if (mode === 'now') runs.startRun(plan, run);
    else {
      plan.update((s) => waitingClaimed(s, claim.slot, run));
      runs.drain(plan);
    }
  }

  function release(claim: Claim): void {
    const { plan, mode } = claim;
    if (mode === 'now') plan.update(runEnded);
    else if (mode === 'ahead') plan.update((s) => aheadDone(s, claim.slot));
    else plan.update((s) => waitingWithdrawn(s, claim.slot));
  }

  return { handle, dispatchAhead };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
