// The messages between an executor and the worker threads of its tasks under strict (postMessage;
// executor/executor.cjs ↔ executor/script-worker.cjs), and the run both policies start (run-script.cjs).
// A worker runs untrusted code: the executor checks what it says (`fromWorker`) before believing it.

import type { AbortMessage, RunMessage, RunUpdate } from './protocol.js';

/**
 * A run as run-script.cjs starts it: the run message with its source decoded from the frame's body. The
 * task key stays with the executor (it places strict runs in their task's worker; a realm never needs it).
 */
export type ScriptRun = Omit<RunMessage, 'type' | 'taskKey'> & { readonly source: string };

/** A worker holds one task. */
export type WorkerRunMessage = { readonly type: 'run' } & ScriptRun;

/** The worker's run ended: work its script left pending may finish until `deadlineMs`; answered by `drained`. */
export interface DrainMessage {
  readonly type: 'drain';
  readonly deadlineMs: number;
}

export type ToWorker = WorkerRunMessage | AbortMessage | DrainMessage;

export type FromWorker =
  /** Started (its warm-up run under way): the executor may start the next worker. */
  | { readonly type: 'ready' }
  /** Answer to `drain`: `pending` when work was still going at the deadline (the worker is then ended). */
  | { readonly type: 'drained'; readonly pending: boolean }
  | RunUpdate;
