// The typed messages between the executor pool (Director's process) and an executor (a child process),
// sent as frames (executor/frames.cjs): a JSON header and a raw body for big text. The executor's
// CommonJS files are checked against these types too (`// @ts-check`, JSDoc `import('../protocol.js')`).
// A run is named by its own id on every hop: the run row's id, or `test-<n>` for /tasks/test.

import type { FailureStage, RunEnd, RunError, TriggerKind } from '../domain/run.js';
import type { ScriptPolicy } from '../config.js';

/** What `main(config, context)` receives as `context`, less the AbortSignal the executor adds. */
export interface RunContext {
  readonly taskId: string | null;
  readonly slot: number | null;
  readonly trigger: TriggerKind;
  readonly attempt: number;
}

/** Sent once, right after the executor starts: how it must behave for every run it takes. */
export interface ExecutorInit {
  readonly type: 'init';
  readonly policy: ScriptPolicy;
  /** Built-in modules a script may require (strict); ignored under trusted, where all are allowed. */
  readonly builtins: readonly string[];
  /** Package name → absolute entry file, for packages a script may require. */
  readonly packages: Readonly<Record<string, string>>;
  /** Folders searched for any other package under trusted (modules dir, Director's node_modules). */
  readonly searchPaths: readonly string[];
  readonly resultMaxBytes: number;
  readonly logMaxBytes: number;
  readonly drainMs: number;
  /** strict: heap cap of each task's worker. */
  readonly runMemoryMb: number;
  /** strict: task workers this executor keeps, idle ones included; beyond it the longest idle one ends. */
  readonly maxWorkers: number;
  /** Director's pid, taken by Director itself: the one process a trusted script may not signal. */
  readonly directorPid: number;
}

/** Longest run id on the wire. A run's id is its row's (`String(run.id)`), or `test-<n>` for /tasks/test. */
export const MAX_RUN_ID_CHARS = 64;

/** Body: the script's source (UTF-8). */
export interface RunMessage {
  readonly type: 'run';
  readonly runId: string;
  /** The isolation unit under strict: runs with the same key share a worker, others never do. */
  readonly taskKey: string;
  /** Shown in stack traces: the script's URL, or `test.js` for /tasks/test. */
  readonly filename: string;
  readonly config: unknown;
  readonly context: RunContext;
}

/** Ends a run Director no longer waits for (its timeout): strict ends its worker, trusted aborts its signal. */
export interface CancelMessage {
  readonly type: 'cancel';
  readonly runId: string;
  readonly reason: string;
}

/** Aborts the run's `context.signal` (shutdown); a script that does not stop is killed after the grace. */
export interface AbortMessage {
  readonly type: 'abort';
  readonly runId: string;
  readonly reason: string;
}

/** strict: a run of the task is coming: its worker is started now. */
export interface PrepareMessage {
  readonly type: 'prepare';
  readonly taskKey: string;
}

/** strict: end the task's worker once idle (the task was deleted or changed, or a test run ended). */
export interface ForgetMessage {
  readonly type: 'forget';
  readonly taskKey: string;
}

/** Answered by `pong` at once, unless the executor's event loop is blocked. */
export interface PingMessage {
  readonly type: 'ping';
  readonly id: number;
}

export type ToExecutor = ExecutorInit | RunMessage | CancelMessage | AbortMessage | PrepareMessage | ForgetMessage | PingMessage;

/** What a run says of itself while it goes and when it ends, under either policy (executor/run-script.cjs). */
export type RunUpdate =
  /** main() was called, at `atMs` on the executor's wall clock. */
  | { readonly type: 'entered'; readonly runId: string; readonly atMs: number }
  /** Console output of a run still going (a run that gets killed keeps it); `end` carries all of it. */
  | { readonly type: 'log'; readonly runId: string; readonly text: string }
  /** Output of a run after it ended. */
  | { readonly type: 'late'; readonly runId: string; readonly text: string }
  /** The run ended; an executor only ever reports `succeeded` or `failed` (timeouts and losses are Director's). */
  | { readonly type: 'end'; readonly runId: string; readonly end: RunEnd<'failed'> };

export type FromExecutor = { readonly type: 'ready' } | { readonly type: 'pong'; readonly id: number } | RunUpdate;

/**
 * The header of each frame an executor sends. Big text travels as the raw body, never JSON-escaped:
 * `log`/`late` text; for `end`, the result (when there is one, `resultBytes` long; -1: a null result)
 * followed by the logs.
 */
export type FromExecutorHeader =
  | { readonly type: 'ready' }
  | { readonly type: 'pong'; readonly id: number }
  | { readonly type: 'entered'; readonly runId: string; readonly atMs: number }
  | { readonly type: 'log' | 'late'; readonly runId: string }
  | { readonly type: 'end'; readonly runId: string; readonly outcome: 'succeeded'; readonly resultBytes: number }
  | { readonly type: 'end'; readonly runId: string; readonly outcome: 'failed'; readonly error: RunError };

/** Largest header an executor may send: an error's message and stack are capped well below this. */
export const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Checks a frame from an executor and decodes its body. A script can reach its executor's channel
 * (under trusted, or by escaping under strict), so nothing is believed on its shape alone: null means
 * the executor broke the protocol and must be ended.
 */
export function parseFromExecutor(header: Record<string, unknown>, body: Buffer): FromExecutor | null {
  const { type, runId } = header;
  if (type === 'ready') return { type };
  if (type === 'pong') return typeof header.id === 'number' ? { type, id: header.id } : null;
  if (typeof runId !== 'string' || runId.length > MAX_RUN_ID_CHARS) return null;
  switch (type) {
    case 'entered':
      return typeof header.atMs === 'number' && Number.isFinite(header.atMs) ? { type, runId, atMs: header.atMs } : null;
    case 'log':
    case 'late':
      return { type, runId, text: body.toString('utf8') };
    case 'end':
      return parseEnd(runId, header, body);
    default:
      return null;
  }
}

function parseEnd(runId: string, header: Record<string, unknown>, body: Buffer): FromExecutor | null {
  if (header.outcome === 'failed') {
    return isRunError(header.error) ? { type: 'end', runId, end: { outcome: 'failed', error: header.error, logs: body.toString('utf8') } } : null;
  }
  const resultBytes = header.resultBytes;
  if (header.outcome !== 'succeeded' || typeof resultBytes !== 'number' || !Number.isInteger(resultBytes) || resultBytes < -1 || resultBytes > body.length) return null;
  const result = resultBytes < 0 ? null : body.toString('utf8', 0, resultBytes);
  return { type: 'end', runId, end: { outcome: 'succeeded', result, logs: body.toString('utf8', Math.max(0, resultBytes)) } };
}

const FAILURE_STAGES = new Set<string>(['fetch', 'compile', 'run', 'timeout', 'serialize', 'executor', 'shutdown'] satisfies FailureStage[]);

function isRunError(value: unknown): value is RunError {
  if (typeof value !== 'object' || value === null) return false;
  const error = value as Record<string, unknown>;
  return typeof error.stage === 'string' && FAILURE_STAGES.has(error.stage) && typeof error.name === 'string' && typeof error.message === 'string'
    && (error.stack === undefined || typeof error.stack === 'string');
}
