// The executor pool's contract: what one execution asks and returns, and how an executor's death reads
// as a run error.

import { readFileSync } from 'node:fs';
import type { RunError } from '../domain/run.js';
import type { Logger } from '../lib/logger.js';
import type { ExecutorLaunch } from './executor-launch.js';
import type { RunContext } from './protocol.js';

export interface ExecuteRequest {
  readonly source: string;
  /** Shown in the script's stack traces. */
  readonly filename: string;
  readonly config: unknown;
  readonly context: RunContext;
  readonly timeoutMs: number;
  /** Called when an executor takes the run (not when it fails before that, e.g. at shutdown). */
  readonly onStarted?: () => void;
}

interface Timing {
  readonly logs: string;
  readonly startedMs: number;
  readonly finishedMs: number;
}

export type Execution =
  | (Timing & { readonly outcome: 'succeeded'; readonly result: string | null })
  | (Timing & { readonly outcome: 'failed' | 'timed_out'; readonly error: RunError });

export interface PoolState {
  readonly size: number;
  readonly busy: number;
  readonly queued: number;
}

export interface ExecutorPool {
  /** Resolves once every executor has started (or rejects when they cannot start). */
  ready(): Promise<void>;
  /** Never rejects: whatever the script does becomes an Execution. */
  execute(request: ExecuteRequest): Promise<Execution>;
  state(): PoolState;
  /** Idempotent. Queued runs fail at once; running ones get `graceMs` (their signal is aborted), then are killed. */
  close(graceMs: number): Promise<void>;
}

export interface ExecutorPoolOptions {
  readonly size: number;
  readonly launch: ExecutorLaunch;
  /** Heap cap given to the executor; the RSS watchdog kills at twice this (Buffers live outside the heap). */
  readonly memoryMb: number;
  readonly drainMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** A run whose executor died: out of heap (V8's fatal message says so), or any other exit. */
export function executorDeathError(output: string, code: number | null, signal: NodeJS.Signals | null, memoryMb: number): RunError {
  if (/heap out of memory|Reached heap limit/i.test(output)) {
    return { stage: 'executor', name: 'MemoryLimitExceeded', message: `the script ran out of memory (heap limit ${memoryMb} MB, DIRECTOR_EXECUTOR_MEMORY_MB); its executor was replaced` };
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
 * synchronously: procfs answers from memory in microseconds, while the asynchronous read took four
 * round trips through the thread pool, ten times a second per busy executor.
 */
export async function readRssKb(pid: number): Promise<number | null> {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
