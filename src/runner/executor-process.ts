// One forked executor as the pool sees it: its status, the run it holds, and the tail of its output
// that explains its death.

import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '../lib/logger.js';
import { lowerExecutorPriority, type ExecutorLaunch } from './executor-launch.js';
import type { ExecuteRequest, Execution } from './execution.js';
import type { ToExecutor } from './protocol.js';

/** A run given to the pool: queued until an executor takes it, settled exactly once. */
export interface Job {
  readonly runId: string;
  readonly request: ExecuteRequest;
  readonly resolve: (execution: Execution) => void;
  startedMs: number;
  /** Logs streamed so far: what a killed run keeps. */
  logs: string;
  timer: NodeJS.Timeout | null;
  settled: boolean;
}

export interface Executor {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  status: 'starting' | 'idle' | 'busy' | 'draining' | 'dead';
  job: Job | null;
  /** The run being drained, and its task (for late output in Director's log). */
  drained: { readonly runId: string; readonly taskId: string | null } | null;
  drainTimer: NodeJS.Timeout | null;
  output: string;
}

export const OUTPUT_TAIL_CHARS = 4000;

export interface ForkExecutorOptions {
  readonly launch: ExecutorLaunch;
  readonly logger: Logger;
  readonly onMessage: (executor: Executor, message: unknown) => void;
  readonly onExit: (executor: Executor, code: number | null, signal: NodeJS.Signals | null) => void;
}

/** Forks an executor and listens to it; throws when it cannot be forked. The caller sends it `launch.init`. */
export function forkExecutor(options: ForkExecutorOptions): Executor {
  const { launch, logger, onMessage, onExit } = options;
  const child = fork(launch.file, [], {
    execPath: launch.execPath,
    execArgv: [...launch.execArgv],
    env: { ...launch.env },
    cwd: launch.cwd,
    ...(launch.uid !== undefined ? { uid: launch.uid } : {}),
    ...(launch.gid !== undefined ? { gid: launch.gid } : {}),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  // Niceness is inherited across the exec of setpriv into node, so setting it right after fork holds.
  if (child.pid !== undefined && !lowerExecutorPriority(child.pid)) logger.debug({ pid: child.pid }, 'could not lower an executor\'s CPU priority; it runs at Director\'s');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const executor: Executor = { child, exited, status: 'starting', job: null, drained: null, drainTimer: null, output: '' };
  const keep = (chunk: Buffer): void => {
    executor.output = (executor.output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('message', (message: unknown) => onMessage(executor, message));
  child.once('exit', (code, signal) => onExit(executor, code, signal));
  child.on('error', (error) => {
    executor.output += `\n${error.message}`;
    // A fork that never started emits no exit; treat it as one.
    if (child.pid === undefined) onExit(executor, null, null);
  });
  return executor;
}

export function sendToExecutor(executor: Executor, message: ToExecutor, logger: Logger): void {
  if (!executor.child.connected) return; // the exit handler settles whatever depended on it
  executor.child.send(message, (error) => {
    if (error) logger.debug({ err: error }, 'could not send to an executor; its exit will fail its run');
  });
}

export function clearDrain(executor: Executor): void {
  if (executor.drainTimer !== null) clearTimeout(executor.drainTimer);
  executor.drainTimer = null;
}

/** SIGKILL: a script in an endless loop never sees a gentler signal. The pool's exit handler replaces it. */
export function killExecutor(executor: Executor, reason: string, logger: Logger): void {
  if (executor.status === 'dead') return;
  executor.status = 'dead';
  clearDrain(executor);
  logger.debug({ pid: executor.child.pid, reason }, 'killing an executor');
  executor.child.kill('SIGKILL');
}
