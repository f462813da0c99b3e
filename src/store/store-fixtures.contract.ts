// Builders shared by the Store contract cases: tasks from client bodies, fixed times, unique ids.

import { randomUUID } from 'node:crypto';
import type { RunError, RunReport } from '../domain/run.js';
import { parseTask, type Task } from '../domain/task.js';
import type { Store } from './store.js';

/** A fixed instant keeps expected values readable; every case derives its times from it. */
export const T0 = Date.UTC(2030, 0, 1);
export const MINUTE = 60_000;
export const LEASE_MS = 30_000;

/** The suite may share one store across cases (one PostgreSQL schema per file), so ids never repeat. */
const suiteId = randomUUID().slice(0, 8);
let counter = 0;
export function uniqueId(label: string): string {
  counter += 1;
  return `${label}-${suiteId}-${counter}`;
}

export function makeTask(body: Record<string, unknown>, createdMs = T0, nowMs = createdMs): Task {
  return parseTask(body, { fallbackId: uniqueId('task'), createdMs, nowMs });
}

export function scheduledTask(id: string, extra: Record<string, unknown> = {}): Task {
  return makeTask({ id, script: 'hello.js', running: true, init: T0, interval: MINUTE, ...extra });
}

export function succeeded(startedMs: number, durationMs: number, result: string | null = '{"ok":true}'): Extract<RunReport, { outcome: 'succeeded' }> {
  return {
    outcome: 'succeeded',
    result,
    logs: 'hello\n',
    queuedMs: startedMs - 1,
    startedMs,
    finishedMs: startedMs + durationMs,
    scriptUrl: 'http://assets.test/api/v1/public/director/hello.js',
    scriptSha256: 'a'.repeat(64),
  };
}

export const scriptError: RunError = { stage: 'run', name: 'TypeError', message: 'x is not a function', stack: 'TypeError: x is not a function\n    at main' };

export function failed(startedMs: number, durationMs: number, outcome: 'failed' | 'timed_out' = 'failed'): RunReport {
  return {
    outcome,
    error: outcome === 'failed' ? scriptError : { stage: 'timeout', name: 'TimeoutError', message: 'timed out after 1000 ms' },
    logs: 'before the failure\n',
    queuedMs: startedMs - 1,
    startedMs,
    finishedMs: startedMs + durationMs,
    scriptUrl: null,
    scriptSha256: null,
  };
}

/** Claims one slot and fails the test when nobody won it. */
export async function claimOne(store: Store, taskId: string, slot: number, owner = 'owner-a', nowMs = slot): Promise<number> {
  const [run] = await store.claimSlots([{ taskId, slot, owner, nowMs, leaseMs: LEASE_MS }]);
  if (run === undefined) throw new Error(`the claim of ${taskId}@${slot} won nothing`);
  return run.id;
}

/** A finished run of `taskId` with the given outcome, inserted as a manual run and then finished. */
export async function finishedRun(store: Store, taskId: string, outcome: 'succeeded' | 'failed' | 'timed_out', atMs: number): Promise<number> {
  const run = await store.insertRun({ taskId, slot: null, attempt: 1, trigger: 'manual', owner: 'owner-a', nowMs: atMs, leaseMs: LEASE_MS });
  if (run === undefined) throw new Error('a manual run was not inserted');
  const report = outcome === 'succeeded' ? succeeded(atMs, 10) : failed(atMs, 10, outcome);
  await store.finishRun(run.id, report);
  return run.id;
}

export interface ContractContext {
  /** The store under test, opened in the suite's `before`. */
  store(): Store;
}
