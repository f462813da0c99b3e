// Test fixture: a scheduler on a real SQLite file, a FakeClock and a recording runner. Tests only.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTask, type Task, type TaskDoc } from '../../domain/task.js';
import { DirectorEvents } from '../../lib/events.js';
import { FakeClock, settle } from '../../lib/testing/fake-clock.js';
import { createLogger } from '../../lib/logger.js';
import type { ClaimRequest, Store } from '../../store/store.js';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.js';
import { createHeldRuns } from '../../runs/held-runs.js';
import { createTaskWrites, type AssetsPort } from '../../tasks/task-writes.js';
import { createScheduler, type Scheduler } from '../scheduler.js';
import type { SchedulerDeps } from '../scheduler-context.js';
import { RecordingRunner } from './recording-runner.js';

export const T0 = Date.UTC(2030, 0, 1);
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A store whose claimSlots calls are counted and can be held open, to stage races. */
export interface ObservedStore {
  readonly store: Store;
  readonly claimBatches: number[];
  /** While set, claimSlots waits for `release()`. */
  hold(): void;
  release(): void;
  /** While set, every operation fails as on a lost database connection (an outage, to test recovery). */
  setUnreachable(unreachable: boolean): void;
  /** Names of the operations that failed that way. */
  readonly failedCalls: string[];
}

export function observeStore(inner: Store): ObservedStore {
  const claimBatches: number[] = [];
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let unreachable = false;
  const failedCalls: string[] = [];
  const fail = (operation: string) => async () => {
    failedCalls.push(operation);
    throw new Error('Connection terminated unexpectedly');
  };
  const claimSlots = async (claims: readonly ClaimRequest[]) => {
    claimBatches.push(claims.length);
    if (gate) await gate.promise;
    return inner.claimSlots(claims);
  };
  const store = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (unreachable && typeof value === 'function' && prop !== 'close') return fail(String(prop));
      if (prop === 'claimSlots') return claimSlots;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store,
    claimBatches,
    failedCalls,
    hold() {
      let open = () => {};
      const promise = new Promise<void>((resolve) => { open = resolve; });
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
    setUnreachable(value) {
      unreachable = value;
    },
  };
}

const NO_ASSETS: AssetsPort = { resolveScriptUrl: (script) => script, fetchSiblingJson: async () => null };

export interface HarnessOptions {
  readonly file?: string;
  readonly clock?: FakeClock;
  readonly config?: Partial<SchedulerDeps['config']>;
  /** A cluster replica's claim sharing; without it the scheduler is a single Director's. */
  readonly sharing?: SchedulerDeps['sharing'];
}

export async function createHarness(options: HarnessOptions = {}) {
  const dir = options.file === undefined ? mkdtempSync(path.join(tmpdir(), 'director-scheduler-')) : undefined;
  const file = options.file ?? path.join(dir as string, 'director.sqlite');
  const observed = observeStore(await openSqliteStore({ file, synchronous: 'NORMAL' }));
  const store = observed.store;
  const clock = options.clock ?? new FakeClock(T0);
  const events = new DirectorEvents();
  const runner = new RecordingRunner({ store, clock, events });
  // A single Director by default: nobody else writes its store, so it never re-reads it.
  const config: SchedulerDeps['config'] = { catchUpMax: 100, leaseMs: 30_000, instanceId: 'director-a', reconcileMs: null, ...options.config };
  const held = createHeldRuns(config.instanceId);
  held.follow(events);
  // The real task-write service, with assets that accept every script and have no sibling X.json.
  const tasks = createTaskWrites({ store, events, clock, assets: NO_ASSETS, replan: (id) => scheduler.taskChanged(id) });
  const scheduler: Scheduler = createScheduler({
    config, store, held, tasks, runner, events, clock, logger: createLogger('silent'), ...(options.sharing ? { sharing: options.sharing } : {}),
  });

  /** Writes a task like the API does (store, then scheduler) and returns it. */
  async function put(doc: TaskDoc): Promise<Task> {
    const id = String(doc.id);
    const existing = await store.getTask(id);
    const now = clock.now();
    const task = parseTask({ script: 'http://assets.test/hello.js', ...doc }, { fallbackId: id, createdMs: existing?.createdMs ?? now, nowMs: now });
    await store.putTask(task);
    await scheduler.taskChanged(id);
    return task;
  }

  async function remove(id: string): Promise<void> {
    await store.deleteTask(id);
    await scheduler.taskChanged(id);
  }

  /** Moves the fake clock, firing due timers in order, and lets the resulting store work settle. */
  async function advance(ms: number): Promise<void> {
    await clock.advance(ms);
    await settle(30);
  }

  /** Runs a task's rows oldest first. */
  async function runsOf(id: string) {
    return (await store.listRuns(id)).reverse();
  }

  async function close(): Promise<void> {
    await scheduler.stop();
    await store.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }

  return { store, observed, clock, events, runner, scheduler, config, held, file, put, remove, advance, runsOf, close };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;

/** Slots handed to the runner for a task, as offsets from T0 in `unit`s (readable assertions). */
export function dispatchedAt(h: Harness, taskId: string, unit = MINUTE): number[] {
  return h.runner.calls.filter((c) => c.task.id === taskId).map((c) => ((c.run.slot ?? Number.NaN) - T0) / unit);
}
