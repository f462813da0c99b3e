// The typed messages between the executor pool (Director's process) and an executor (a child process).
// executor/executor.cjs is plain CommonJS and cannot import these types: keep both sides in step.

import type { RunError, TriggerKind } from '../domain/run.js';
import type { ScriptPolicy } from '../config.js';

/** What `main(config, context)` receives as `context`, less the AbortSignal the executor adds. */
export interface RunContext {
  readonly taskId: string | null;
  readonly slot: number | null;
  readonly trigger: TriggerKind;
  readonly attempt: number;
}

/** Sent once, right after fork: how this executor must behave for every run it takes. */
export interface ExecutorInit {
  readonly type: 'init';
  readonly policy: ScriptPolicy;
  /** Built-in modules a script may require (strict); ignored under trusted, where all are allowed. */
  readonly builtins: readonly string[];
  /** Package name → absolute folder of the package, for packages a script may require. */
  readonly packages: Readonly<Record<string, string>>;
  /** Folders searched for any other package under trusted (modules dir, Director's node_modules). */
  readonly searchPaths: readonly string[];
  readonly resultMaxBytes: number;
  readonly logMaxBytes: number;
  readonly drainMs: number;
}

export interface RunMessage {
  readonly type: 'run';
  readonly runId: string;
  readonly source: string;
  /** Shown in stack traces: the script's URL, or `test.js` for /tasks/test. */
  readonly filename: string;
  readonly config: unknown;
  readonly context: RunContext;
}

/** Aborts the running run's `context.signal` (shutdown); the pool kills the executor after a grace. */
export interface AbortMessage {
  readonly type: 'abort';
  readonly runId: string;
  readonly reason: string;
}

export type ToExecutor = ExecutorInit | RunMessage | AbortMessage;

export interface ReadyMessage {
  readonly type: 'ready';
}

export interface DoneMessage {
  readonly type: 'done';
  readonly runId: string;
  /** JSON text of the result, or null when `main` returned undefined. */
  readonly result: string | null;
  readonly logs: string;
  /** True when the script left nothing pending: the executor is ready at once and sends no idle/recycle. */
  readonly idle: boolean;
}

export interface FailedMessage {
  readonly type: 'failed';
  readonly runId: string;
  readonly error: RunError;
  readonly logs: string;
  readonly idle: boolean;
}

/** Console output of a run still going (a run that gets killed keeps it); done/failed carry all of it. */
export interface LogMessage {
  readonly type: 'log';
  readonly runId: string;
  readonly text: string;
}

/** After done/failed with idle false: the script's pending work has finished, the executor can take another run. */
export interface IdleMessage {
  readonly type: 'idle';
  readonly runId: string;
}

/** After done/failed: the executor must not take another run (work still pending, or state tampered with). */
export interface RecycleMessage {
  readonly type: 'recycle';
  readonly runId: string;
  readonly reason: string;
}

/** Something a script did after its run was reported (a late log line, a late exception). */
export interface LateMessage {
  readonly type: 'late';
  readonly runId: string;
  readonly text: string;
}

export type FromExecutor = ReadyMessage | DoneMessage | FailedMessage | LogMessage | IdleMessage | RecycleMessage | LateMessage;

const FROM_EXECUTOR_TYPES = new Set<string>(['ready', 'done', 'failed', 'log', 'idle', 'recycle', 'late']);

/**
 * A script can reach its executor's real `process.send` (the `require.constructor` escape), so the
 * pool checks the shape of what it receives instead of trusting it.
 */
export function isFromExecutor(value: unknown): value is FromExecutor {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Record<string, unknown>;
  if (typeof message.type !== 'string' || !FROM_EXECUTOR_TYPES.has(message.type)) return false;
  if (message.type === 'ready') return true;
  if (typeof message.runId !== 'string') return false;
  switch (message.type) {
    case 'done':
      return (typeof message.result === 'string' || message.result === null) && typeof message.logs === 'string' && typeof message.idle === 'boolean';
    case 'failed':
      return isRunError(message.error) && typeof message.logs === 'string' && typeof message.idle === 'boolean';
    case 'recycle':
      return typeof message.reason === 'string';
    case 'log':
    case 'late':
      return typeof message.text === 'string';
    default:
      return true;
  }
}

function isRunError(value: unknown): value is RunError {
  if (typeof value !== 'object' || value === null) return false;
  const error = value as Record<string, unknown>;
  return typeof error.stage === 'string' && typeof error.name === 'string' && typeof error.message === 'string'
    && (error.stack === undefined || typeof error.stack === 'string');
}
