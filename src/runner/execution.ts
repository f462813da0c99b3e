// The executor pool's contract: what one execution asks and returns, and how an executor's death reads
// as a run error.

import { readFileSync } from 'node:fs';
import type { RunEnd, RunError } from '../domain/run.js';
import type { Logger } from '../lib/logger.js';
import type { ExecutorLaunch } from './executor-launch.js';
import type { RunContext } from './protocol.js';

export interface ExecuteRequest {
  /**
   * The run's own id, named in every message about it and in the logs: the run row's id, or `test-<n>`.
   * At most MAX_RUN_ID_CHARS, and unique among the runs in flight (the pool refuses a second one).
   */
  readonly runId: string;
  /** Runs with the same key may share a worker under strict; runs with different keys never do. */
  readonly taskKey: string;
  readonly source: string;
  /** Shown in the script's stack traces. */
  readonly filename: string;
  readonly config: unknown;
  readonly context: RunContext;
  readonly timeoutMs: number;
}

/**
 * How a run ended (`lost`: through no fault of its own, its executor was killed for another run), with
 * when main() was entered on the pool's clock (null when it never was: compile error, death before).
 */
export type Execution = RunEnd & { readonly enteredMs: number | null; readonly finishedMs: number };

export interface PoolState {
  readonly executors: number;
  /** Runs handed to executors and not finished. */
  readonly running: number;
}

export interface ExecutorPool {
  /** Resolves once every executor has started (or rejects when they cannot start). */
  ready(): Promise<void>;
  /** Never rejects: whatever the script does becomes an Execution. */
  execute(request: ExecuteRequest): Promise<Execution>;
  /** strict: a run of the task is coming, its worker is started now (nothing is per task under trusted). */
  prepare(taskKey: string): void;
  /** strict: ends the task's worker once idle. */
  forget(taskKey: string): void;
  state(): PoolState;
  /** Pids of the executors alive now. */
  pids(): number[];
  /** Idempotent. Running runs get `graceMs` (their signal is aborted), then their executors are killed. */
  close(graceMs: number): Promise<void>;
}

export interface ExecutorPoolOptions {
  readonly size: number;
  readonly launch: ExecutorLaunch;
  /** Resident memory one executor may use, workers and Buffers included; past it, it is killed. */
  readonly rssLimitMb: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** A run whose executor died: out of heap (V8's fatal message says so), or any other exit. */
export function executorDeathError(output: string, code: number | null, signal: NodeJS.Signals | null): RunError {
  if (/heap out of memory|Reached heap limit/i.test(output)) {
    return { stage: 'executor', name: 'MemoryLimitExceeded', message: 'the executor running the script ran out of memory; it was replaced' };
  }
  const detail = output.trim().split('\n').slice(-3).join(' | ');
  return {
    stage: 'executor',
    name: 'ExecutorExited',
    message: `the executor running the script exited (${describeExit(code, signal)}) before the run finished; a fresh one replaces it${detail ? `. Last output: ${detail}` : ''}`,
  };
}

export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `signal ${signal}` : `code ${String(code)}`;
}

/**
 * Resident memory of a process from /proc (Linux); null when it is gone or there is no /proc. Read
 * synchronously: procfs answers from memory in microseconds.
 */
export function readRssKb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
