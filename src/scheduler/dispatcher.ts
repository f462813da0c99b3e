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
import { isIdle, type TaskPlan, type WaitingSlot } from './task-plan.js';

/** Slots of one task to handle, oldest first (several after downtime or a late wake-up). */
export interface DueSlots {
  readonly plan: TaskPlan;
  readonly slots: readonly number[];
}

interface Claim {
  readonly plan: TaskPlan;
  readonly slot: number;
  /** `now`: run at once; `queue`: wait behind the running one; `ahead`: hold until the slot's instant. */
  readonly mode: 'now' | 'ahead' | WaitingSlot;
}

type SlotItem = Extract<AheadItem, { kind: 'slot' }>;

const key = (taskId: string, slot: number): string => `${slot}\u0000${taskId}`;
const CHANGED = 'not started: the task was stopped, deleted or rescheduled after its slot was claimed';

/** Runs that wait behind the running one (claimed or being claimed); catch-up slots sit behind. */
function queuedCount(plan: TaskPlan): number {
  return plan.waiting.filter((w) => w.run !== null || w.claiming).length;
}

export function createDispatcher(ctx: SchedulerContext, skips: SkipRecorder, runs: RunLifecycle, ahead: AheadQueue) {
  const { store, clock, config, logger, events } = ctx;
  const owner = config.instanceId;

  /**
   * Decides synchronously, so that the in-memory counts (`active`, `waiting`) already include every
   * slot of this wake-up before the next wake-up looks at them; only the claim itself is awaited.
   */
  function handle(due: readonly DueSlots[], now: number): void {
    const claims: Claim[] = [];
    const unknown: { plan: TaskPlan; slot: number }[] = [];
    for (const { plan, slots } of due) {
      const [first, ...rest] = slots;
      if (first === undefined || !isCurrent(ctx, plan)) continue;
      if (first > now) {
        takeAhead(plan, first, claims);
        continue;
      }
      const overlap = plan.task.settings.overlap;
      if (overlap !== 'allow') runs.dropRetry(plan, `retry dropped: slot ${iso(first)} has come`);
      const backlog = plan.waiting.some((w) => w.run === null && !w.claiming);
      // Several overdue slots (catch-up "all") run one after another unless overlap allows them together.
      const current = overlap === 'allow' ? slots : backlog ? [] : [first];
      const later = overlap === 'allow' ? [] : backlog ? slots : rest;
      for (const slot of current) {
        if (plan.knownIdle) decide(plan, slot, undefined, claims);
        else unknown.push({ plan, slot });
      }
      for (const slot of later) addBacklog(plan, slot);
    }
    const work = unknown.length === 0 ? claimAll(claims) : checkThenClaim(unknown, claims);
    ctx.track(work, 'claiming due slots');
  }

  /** An idle task's coming slot is claimed now; a busy or unknown one is decided at its instant. */
  function takeAhead(plan: TaskPlan, slot: number, claims: Claim[]): void {
    plan.aheadSlots.push(slot);
    const free = plan.task.settings.overlap === 'allow' || isIdle(plan);
    if (plan.knownIdle && free) claims.push({ plan, slot, mode: 'ahead' });
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
      const at = plan.aheadSlots.indexOf(slot);
      if (at >= 0) plan.aheadSlots.splice(at, 1);
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
      const decision = decideOverlap(overlap, { active: plan.active, waiting: queuedCount(plan) });
      if (decision.action === 'skip') {
        runs.cancelRun(run, decision.reason);
      } else if (decision.action === 'queue') {
        plan.waiting.push({ slot, run, claiming: false });
      } else {
        plan.active += 1;
        runs.startRun(plan, run);
      }
    }
    if (fresh.length > 0) handle(fresh, now);
  }

  function decide(plan: TaskPlan, slot: number, remoteOwner: string | undefined, claims: Claim[]): void {
    const decision = decideOverlap(plan.task.settings.overlap, { active: plan.active, waiting: queuedCount(plan), remoteOwner });
    if (decision.action === 'skip') {
      skips.record({ taskId: plan.task.id, slot, attempt: 1, reason: decision.reason });
      // Catch-up slots behind a skipped one must not stall when nothing of the task runs here.
      runs.drain(plan);
      return;
    }
    if (decision.action === 'run') {
      plan.active += 1;
      claims.push({ plan, slot, mode: 'now' });
      return;
    }
    const waiting: WaitingSlot = { slot, run: null, claiming: true };
    plan.waiting.push(waiting);
    claims.push({ plan, slot, mode: waiting });
  }

  function addBacklog(plan: TaskPlan, slot: number): void {
    if (plan.waiting.length >= config.catchUpMax) {
      plan.missed += 1;
      skips.record({ taskId: plan.task.id, slot, attempt: 1, reason: `missed: ${config.catchUpMax} slots already wait to catch up` });
      return;
    }
    plan.waiting.push({ slot, run: null, claiming: false });
  }

  /**
   * A task whose newest slot this process did not run itself may have a run going on another
   * replica: ask the store before deciding. A run whose lease has expired is dead, not going.
   */
  async function checkThenClaim(unknown: readonly { plan: TaskPlan; slot: number }[], claims: Claim[]): Promise<void> {
    const now = clock.now();
    for (const { plan, slot } of unknown) {
      if (!isCurrent(ctx, plan)) continue;
      const going = (await store.runningRuns(plan.task.id)).find((r) => r.leaseUntilMs === null || r.leaseUntilMs >= now);
      decide(plan, slot, going === undefined ? undefined : going.owner === owner ? 'this Director' : going.owner, claims);
    }
    await claimAll(claims);
  }

  async function claimAll(claims: readonly Claim[]): Promise<void> {
    // No yield to the event loop between chunks: it would let the completions of the first runs
    // (each a durable write) go ahead of dispatching the rest, and lateness grows with the burst.
    for (let i = 0; i < claims.length; i += STORE_CHUNK) await claimChunk(claims.slice(i, i + STORE_CHUNK));
    if (claims.some((c) => c.mode === 'ahead')) ctx.rearm();
  }

  async function claimChunk(chunk: readonly Claim[]): Promise<void> {
    const nowMs = clock.now();
    const requests: ClaimRequest[] = chunk.map((c) => ({ taskId: c.plan.task.id, slot: c.slot, owner, nowMs, leaseMs: config.leaseMs }));
    let won: RunRecord[];
    try {
      won = await store.claimSlots(requests);
    } catch (error) {
      logger.error({ err: error, slots: chunk.length }, 'claiming due slots failed; they are not run (at most once), the next slots are planned');
      for (const claim of chunk) release(claim);
      return;
    }
    const byKey = new Map<string, RunRecord>();
    for (const run of won) if (run.slot !== null) byKey.set(key(run.taskId, run.slot), run);
    for (const claim of chunk) {
      const run = byKey.get(key(claim.plan.task.id, claim.slot));
      if (run === undefined) {
        // Another replica owns this slot (or a restart already recorded it): it is not ours to run.
        claim.plan.knownIdle = false;
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
      mode.run = run;
      mode.claiming = false;
      runs.drain(plan);
    }
  }

  function release(claim: Claim): void {
    const { plan, mode } = claim;
    if (mode === 'now') {
      plan.active -= 1;
    } else if (mode === 'ahead') {
      const at = plan.aheadSlots.indexOf(claim.slot);
      if (at >= 0) plan.aheadSlots.splice(at, 1);
    } else {
      const at = plan.waiting.indexOf(mode);
      if (at >= 0) plan.waiting.splice(at, 1);
    }
  }

  return { handle, dispatchAhead };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
