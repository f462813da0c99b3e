// One spawned executor as the pool sees it: its pipes, the runs it holds, and the tail of its output
// that explains its death.

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../lib/logger.js';
import { lowerExecutorPriority, type ExecutorLaunch } from './executor-launch.js';
import type { Execution, ExecuteRequest } from './execution.js';
import { MAX_HEADER_BYTES, parseFromExecutor, type FromExecutor, type ToExecutor } from './protocol.js';

interface FrameCodec {
  encodeFrame(header: object, body?: Buffer | null): Buffer;
  createFrameReader(options: {
    maxFrameBytes: number;
    maxHeaderBytes: number;
    onFrame: (frame: { header: Record<string, unknown>; body: Buffer }) => void;
    onError: (reason: string) => void;
  }): { push(chunk: Buffer): void };
}
const { encodeFrame, createFrameReader } = createRequire(import.meta.url)('./executor/frames.cjs') as FrameCodec;

/** A run handed to an executor, settled exactly once. */
export interface Job {
  readonly runId: string;
  readonly request: ExecuteRequest;
  readonly resolve: (execution: Execution) => void;
  readonly executor: Executor;
  enteredMs: number | null;
  /** Logs streamed so far: what a killed run keeps. */
  logs: string;
  timer: NodeJS.Timeout | null;
  settled: boolean;
}

export interface Executor {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  status: 'starting' | 'ready' | 'dead';
  /** trusted: a run timed out and the executor has not yet answered the ping that follows: it may be blocked. */
  suspect: boolean;
  readonly jobs: Map<string, Job>;
  /** Runs this executor held that were settled without it (timeouts): their late messages are expected. */
  readonly settledIds: Set<string>;
  /** strict: task keys whose workers live here. */
  readonly taskKeys: Set<string>;
  output: string;
}

export const OUTPUT_TAIL_CHARS = 4000;

export interface SpawnExecutorOptions {
  readonly launch: ExecutorLaunch;
  readonly logger: Logger;
  /** Largest message accepted from the executor; a larger one ends it before it is read. */
  readonly maxMessageBytes: number;
  readonly onMessage: (executor: Executor, message: FromExecutor) => void;
  readonly onBroken: (executor: Executor, reason: string) => void;
  readonly onExit: (executor: Executor, code: number | null, signal: NodeJS.Signals | null) => void;
}

/**
 * Spawns an executor in a session of its own (so no signal to its process group reaches Director) and
 * listens to it; throws when it cannot be spawned. The caller sends it `launch.init`.
 */
export function spawnExecutor(options: SpawnExecutorOptions): Executor {
  const { launch, logger } = options;
  const child = spawn(launch.execPath, [...launch.execArgv, launch.file], {
    env: { ...launch.env },
    cwd: launch.cwd,
    ...(launch.uid !== undefined ? { uid: launch.uid } : {}),
    ...(launch.gid !== undefined ? { gid: launch.gid } : {}),
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  // Niceness is inherited across the exec of setpriv into node, so setting it right after spawn holds.
  if (child.pid !== undefined && !lowerExecutorPriority(child.pid)) logger.debug({ pid: child.pid }, 'could not lower an executor\'s CPU priority; it runs at Director\'s');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const executor: Executor = { child, exited, status: 'starting', suspect: false, jobs: new Map(), settledIds: new Set(), taskKeys: new Set(), output: '' };
  const keep = (chunk: Buffer): void => {
    executor.output = (executor.output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const reader = createFrameReader({
    maxFrameBytes: options.maxMessageBytes,
    maxHeaderBytes: MAX_HEADER_BYTES,
    onFrame: ({ header, body }) => {
      const message = parseFromExecutor(header, body);
      if (message === null) options.onBroken(executor, `a malformed message of type ${String(header.type)}`);
      else options.onMessage(executor, message);
    },
    onError: (reason) => options.onBroken(executor, reason),
  });
  const channel = child.stdio[3] as Readable | null;
  channel?.on('data', (chunk: Buffer) => reader.push(chunk));
  channel?.on('error', () => {});
  (child.stdin as Writable | null)?.on('error', () => {}); // EPIPE after a death: its exit handler settles the runs
  child.once('exit', (code, signal) => options.onExit(executor, code, signal));
  child.on('error', (error) => {
    executor.output += `\n${error.message}`;
    // A spawn that never started emits no exit; treat it as one.
    if (child.pid === undefined) options.onExit(executor, null, null);
  });
  return executor;
}

export function sendToExecutor(executor: Executor, message: ToExecutor, body: Buffer | null = null): void {
  if (executor.status === 'dead' || executor.child.stdin === null || executor.child.stdin.destroyed) return;
  executor.child.stdin.write(encodeFrame(message, body));
}

/** SIGKILL: a script in an endless loop never sees a gentler signal. The pool's exit handler replaces it. */
export function killExecutor(executor: Executor, reason: string, logger: Logger): void {
  if (executor.status === 'dead') return;
  executor.status = 'dead';
  logger.debug({ pid: executor.child.pid, reason }, 'killing an executor');
  executor.child.kill('SIGKILL');
}
