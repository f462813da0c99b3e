// Runs the active backfills: claims their slots in order, at most `concurrency` at once, on whichever
// replica gets there first, and ends each one when every slot has run (or it was cancelled).
//
// Each step reads a backfill's progress and claims with the version it read (store.claimBackfillRuns):
// of replicas stepping the same backfill at once, one claims and the others find the version moved and
// wait for the next pass. So every replica may step every backfill, with no leader, and a replica that
// dies mid-way leaves nothing behind: its runs are declared lost (leases) and claimed again as re-runs.

import { BACKFILL_MAX_ATTEMPTS, slotsFrom } from '../domain/backfill.js';
import type { RunRecord } from '../domain/run.js';
import type { Task } from '../domain/task.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { TaskRunner } from '../runner/runner.js';
import type { HeldRuns } from '../runs/held-runs.js';
import type { BackfillProgress, Store } from '../store/store.js';

/**
 * How often each replica looks for backfill work it was not told about: runs that finished on another
 * replica, backfills created or cancelled there. Runs finishing here step their backfill at once.
 */
export const BACKFILL_POLL_MS = 1000;

export interface BackfillDriverDeps {
  readonly store: Store;
  readonly runner: Pick<TaskRunner, 'runClaimed'>;
  readonly held: HeldRuns;
  readonly events: DirectorEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: { readonly instanceId: string; readonly leaseMs: number };
  readonly pollMs?: number;
}

export interface BackfillDriver {
  start(): void;
  /** Look at the active backfills now (one was created or cancelled here). */
  kick(): void;
  /** Stops claiming; runs already handed to the runner end with it (runner.close). Idempotent. */
  stop(): Promise<void>;
}

export function createBackfillDriver(deps: BackfillDriverDeps): BackfillDriver {
  const { store, runner, held, events, clock, logger, config } = deps;
  const pollMs = deps.pollMs ?? BACKFILL_POLL_MS;
  const owner = config.instanceId;
  /** Backfills seen cancelling: their runs still waiting for a place here do not start. */
  const cancelled = new Set<number>();
  let started = false;
  let stopped = false;
  let timer: TimerHandle | undefined;
  let pass: Promise<void> | undefined;
  let again = false;
  let offFinished: (() => void) | undefined;

  function kick(): void {
    if (!started || stopped) return;
    if (pass !== undefined) {
      // One pass at a time; a kick during one asks for another right after it.
      again = true;
      return;
    }
    timer?.cancel();
    pass = runPass().finally(() => {
      pass = undefined;
      if (stopped) return;
      if (again) {
        again = false;
        kick();
      } else {
        timer = clock.setTimer(kick, pollMs);
      }
    });
  }

  async function runPass(): Promise<void> {
    try {
      for (const id of await store.activeBackfills()) {
        if (stopped) return;
        await step(id);
      }
    } catch (error) {
      logger.warn({ err: error }, `backfill pass failed; trying again in ${pollMs} ms`);
    }
  }

  async function step(id: number): Promise<void> {
    const progress = await store.backfillProgress(id, BACKFILL_MAX_ATTEMPTS);
    if (progress === undefined) return;
    const { backfill, running } = progress;
    if (backfill.status === 'cancelling') {
      cancelled.add(id);
      if (running === 0) await ended(await store.endBackfill(id, { status: 'cancel-done', nowMs: clock.now() }));
      return;
    }
    if (backfill.status !== 'running') return;
    const task = await store.getTask(backfill.taskId);
    if (task === undefined) {
      cancelled.add(id);
      await ended(await store.endBackfill(id, { status: 'cancelled', reason: `its task "${backfill.taskId}" was deleted`, nowMs: clock.now() }));
      return;
    }
    if (backfill.nextSlot === null && progress.reruns.length === 0) {
      if (running === 0) await ended(await store.endBackfill(id, { status: 'completed', version: backfill.version, nowMs: clock.now() }));
      return;
    }
    await claim(task, progress);
  }

  /** Claims what fits under the backfill's concurrency: re-runs first (the oldest slots), then new slots in order. */
  async function claim(task: Task, progress: BackfillProgress): Promise<void> {
    const { backfill } = progress;
    const free = backfill.concurrency - progress.running;
    if (free <= 0) return;
    const reruns = progress.reruns.slice(0, free);
    const fresh = backfill.nextSlot === null
      ? { slots: [], next: null }
      : slotsFrom(backfill.schedule, backfill.nextSlot, backfill.toMs, free - reruns.length);
    const runs = [...reruns, ...fresh.slots.map((slot) => ({ slot, attempt: 1 }))];
    if (runs.length === 0) return;
    const claimed = await store.claimBackfillRuns({
      backfillId: backfill.id,
      taskId: task.id,
      version: backfill.version,
      nextSlot: fresh.slots.length > 0 ? fresh.next : backfill.nextSlot,
      runs,
      owner,
      nowMs: clock.now(),
      leaseMs: config.leaseMs,
    });
    // Undefined: another replica claimed first (or it was cancelled meanwhile); the next pass reads again.
    if (claimed === undefined) return;
    for (const run of claimed) {
      held.hold(run);
      start(task, run);
    }
  }

  function start(task: Task, run: RunRecord): void {
    const backfillId = run.backfillId;
    // Asked right before the fetch: a run still waiting for a place when its backfill is cancelled never starts.
    const stillWanted = (): boolean => backfillId === null || !cancelled.has(backfillId);
    runner.runClaimed(task, run, stillWanted).catch(async (error: unknown) => {
      // runClaimed records script failures itself; a rejection means the runner could not take the run.
      logger.error({ err: error, taskId: run.taskId, runId: run.id, backfillId }, 'the runner rejected a backfill run; recording it as failed');
      const failure = { stage: 'executor' as const, name: 'RunnerError', message: error instanceof Error ? error.message : String(error) };
      try {
        await store.abandonRun(run.id, 'failed', failure, clock.now());
      } catch (recordError) {
        logger.warn({ err: recordError, runId: run.id }, 'could not record the rejected backfill run; its lease will expire and it is run again');
      } finally {
        held.release(run.id);
        kick();
      }
    });
  }

  async function ended(backfill: Awaited<ReturnType<Store['endBackfill']>>): Promise<void> {
    if (backfill === undefined) return;
    cancelled.delete(backfill.id);
    logger.info({ backfillId: backfill.id, taskId: backfill.taskId, status: backfill.status, counts: backfill.counts }, `backfill ${backfill.id} ${backfill.status}`);
  }

  return {
    start() {
      if (started || stopped) return;
      started = true;
      // A run of a backfill ended here (or was declared lost here): its backfill has room for the next slot.
      offFinished = events.on('run:finished', (run) => {
        if (run.backfillId !== null) kick();
      });
      kick();
    },
    kick,
    async stop() {
      if (stopped) return;
      stopped = true;
      timer?.cancel();
      offFinished?.();
      await pass;
    },
  };
}
