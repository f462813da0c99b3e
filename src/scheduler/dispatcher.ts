// Due slots → overlap decision → one batched claim → dispatch of the slots this process won.

import type { RunRecord } from '../domain/run.js';
import { isSlot } from '../domain/schedule.js';
import type { ClaimRequest } from '../store/store.js';
import { decideOverlap } from './overlap.js';
import type { RunLifecycle } from './run-lifecycle.js';
import { isCurrent, iso, STORE_CHUNK, yieldToLoop, type SchedulerContext } from './scheduler-context.js';
import type { SkipRecorder } from './skip-recorder.js';
import type { TaskPlan, WaitingSlot } from './task-plan.js';

/** Slots of one task that are due now, oldest first (several after downtime or a late wake-up). */
export interface DueSlots {
  readonly plan: TaskPlan;
  readonly slots: readonly number[];
}

interface Claim {
  readonly plan: TaskPlan;
  readonly slot: number;
  /** Set for a slot that waits behind the running one (overlap "queue") instead of running now. */
  readonly waiting?: WaitingSlot;
}

const key = (taskId: string, slot: number): string => `${slot}\u0000${taskId}`;

export function createDispatcher(ctx: SchedulerContext, skips: SkipRecorder, runs: RunLifecycle) {
  const { store, clock, config, logger, events } = ctx;
  const owner = config.instanceId;

  /**
   * Decides synchronously, so that the in-memory counts (`active`, `waiting`) already include every
   * slot of this wake-up before the next wake-up looks at them; only the claim itself is awaited.
   */
  function handle(due: readonly DueSlots[]): void {
    const claims: Claim[] = [];
    const unknown: { plan: TaskPlan; slot: number }[] = [];
    for (const { plan, slots } of due) {
      const [first, ...rest] = slots;
      if (first === undefined || !isCurrent(ctx, plan)) continue;
      const overlap = plan.task.settings.overlap;
      if (overlap !== 'allow') runs.dropRetry(plan, `retry dropped: slot ${iso(first)} has come`);
      const backlog = plan.waiting.some((w) => w.run === null && !w.claiming);
      // Several overdue slots (catch-up "all") run one after another unless overlap allows them together.
      const now = overlap === 'allow' ? slots : backlog ? [] : [first];
      const later = overlap === 'allow' ? [] : backlog ? slots : rest;
      for (const slot of now) {
        if (plan.knownIdle) decide(plan, slot, undefined, claims);
        else unknown.push({ plan, slot });
      }
      for (const slot of later) addBacklog(plan, slot);
    }
    const work = unknown.length === 0 ? claimAll(claims) : checkThenClaim(unknown, claims);
    ctx.track(work, 'claiming due slots');
  }

  function decide(plan: TaskPlan, slot: number, remoteOwner: string | undefined, claims: Claim[]): void {
    // Catch-up slots (unclaimed, not being claimed) wait behind this one, not ahead of it.
    const queued = plan.waiting.filter((w) => w.run !== null || w.claiming).length;
    const decision = decideOverlap(plan.task.settings.overlap, { active: plan.active, waiting: queued, remoteOwner });
    if (decision.action === 'skip') {
      skips.record({ taskId: plan.task.id, slot, attempt: 1, reason: decision.reason });
      // Catch-up slots behind a skipped one must not stall when nothing of the task runs here.
      runs.drain(plan);
      return;
    }
    if (decision.action === 'run') {
      plan.active += 1;
      claims.push({ plan, slot });
      return;
    }
    const waiting: WaitingSlot = { slot, run: null, claiming: true };
    plan.waiting.push(waiting);
    claims.push({ plan, slot, waiting });
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
    for (let i = 0; i < unknown.length; i += STORE_CHUNK) {
      if (i > 0) await yieldToLoop();
      for (const { plan, slot } of unknown.slice(i, i + STORE_CHUNK)) {
        if (!isCurrent(ctx, plan)) continue;
        const going = (await store.runningRuns(plan.task.id)).find((r) => r.leaseUntilMs === null || r.leaseUntilMs >= now);
        decide(plan, slot, going === undefined ? undefined : going.owner === owner ? 'this Director' : going.owner, claims);
      }
    }
    await claimAll(claims);
  }

  async function claimAll(claims: readonly Claim[]): Promise<void> {
    for (let i = 0; i < claims.length; i += STORE_CHUNK) {
      // Between chunks the runner gets to start the runs of the previous chunk.
      if (i > 0) await yieldToLoop();
      await claimChunk(claims.slice(i, i + STORE_CHUNK));
    }
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
    const { plan } = claim;
    // The task may have been stopped, deleted or rescheduled while the claim was in flight.
    if (!isCurrent(ctx, plan) || !isSlot(plan.task, claim.slot)) {
      release(claim);
      runs.cancelRun(run, 'not started: the task was stopped, deleted or rescheduled while its slot was being claimed');
      return;
    }
    if (claim.waiting === undefined) {
      runs.startRun(plan, run);
      return;
    }
    claim.waiting.run = run;
    claim.waiting.claiming = false;
    runs.drain(plan);
  }

  function release(claim: Claim): void {
    if (claim.waiting === undefined) {
      claim.plan.active -= 1;
      return;
    }
    const at = claim.plan.waiting.indexOf(claim.waiting);
    if (at >= 0) claim.plan.waiting.splice(at, 1);
  }

  return { handle };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
