// A pool of warm executor processes, one run at a time each; an executor that times out, exceeds its
// memory, crashes or is left with pending work is killed and replaced, failing at most its own run.

import { randomUUID } from 'node:crypto';
import type { RunError } from '../domain/run.js';
import { describeExit, executorDeathError, readRssKb, type ExecuteRequest, type Execution, type ExecutorPool, type ExecutorPoolOptions, type PoolState } from './execution.js';
import { clearDrain, forkExecutor, killExecutor, OUTPUT_TAIL_CHARS, sendToExecutor, type Executor, type Job } from './executor-process.js';
import { isFromExecutor, type FromExecutor, type ToExecutor } from './protocol.js';

export type { ExecuteRequest, Execution, ExecutorPool, ExecutorPoolOptions, PoolState };

/** The executor reports the end of its drain itself; this is only for an executor that cannot (blocked). */
const DRAIN_SLACK_MS = 2000;
const WATCHDOG_MS = 100;
const STARTUP_FAILURES_BEFORE_GIVING_UP = 3;

export function createExecutorPool(options: ExecutorPoolOptions): ExecutorPool {
  const { launch, logger } = options;
  const now = options.now ?? Date.now;
  const executors = new Set<Executor>();
  const queue: Job[] = [];
  let closing: Promise<void> | null = null;
  let startupFailures = 0;
  let lastStartupError = '';
  let respawnTimer: NodeJS.Timeout | null = null;
  const readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const rssLimitKb = options.memoryMb * 2 * 1024;
  const watchdog = setInterval(() => void checkMemory(), WATCHDOG_MS);
  watchdog.unref();
  const send = (executor: Executor, message: ToExecutor): void => sendToExecutor(executor, message, logger);
  const kill = (executor: Executor, reason: string): void => killExecutor(executor, reason, logger);

  for (let i = 0; i < options.size; i++) spawn();

  function spawn(): void {
    let executor: Executor;
    try {
      executor = forkExecutor({ launch, logger, onMessage, onExit });
    } catch (error) {
      startupFailed(`cannot fork an executor: ${String(error)}`);
      return;
    }
    executors.add(executor);
    send(executor, launch.init);
  }

  function onMessage(executor: Executor, message: unknown): void {
    if (!isFromExecutor(message)) {
      logger.warn({ pid: executor.child.pid }, 'an executor sent a malformed message; ignored');
      return;
    }
    handle(executor, message);
  }

  function handle(executor: Executor, message: FromExecutor): void {
    switch (message.type) {
      case 'ready':
        if (executor.status !== 'starting') return;
        executor.status = 'idle';
        startupFailures = 0;
        settleReadyWaiters();
        dispatch();
        return;
      case 'done':
      case 'failed': {
        const job = executor.job;
        if (executor.status !== 'busy' || job === null || job.runId !== message.runId) return;
        executor.job = null;
        executor.drained = { runId: job.runId, taskId: job.request.context.taskId };
        if (message.idle) {
          executor.status = 'idle';
        } else {
          executor.status = 'draining';
          executor.drainTimer = setTimeout(() => kill(executor, 'its drain did not end'), options.drainMs + DRAIN_SLACK_MS);
        }
        const timing = { logs: message.logs, startedMs: job.startedMs, finishedMs: now() };
        settle(job, message.type === 'done'
          ? { outcome: 'succeeded', result: message.result, ...timing }
          : { outcome: 'failed', error: message.error, ...timing });
        if (message.idle) dispatch();
        return;
      }
      case 'log':
        if (executor.job !== null && executor.job.runId === message.runId) executor.job.logs += message.text;
        return;
      case 'idle':
        if (executor.status !== 'draining' || executor.drained?.runId !== message.runId) return;
        clearDrain(executor);
        executor.status = 'idle';
        dispatch();
        return;
      case 'recycle':
        if (executor.status !== 'draining' || executor.drained?.runId !== message.runId) return;
        logger.info({ taskId: executor.drained.taskId, reason: message.reason }, 'recycling an executor; a fresh one replaces it');
        kill(executor, message.reason);
        return;
      case 'late':
        if (executor.drained?.runId !== message.runId) return;
        logger.info({ taskId: executor.drained.taskId, output: message.text.slice(0, OUTPUT_TAIL_CHARS) }, 'script output after its run was recorded');
        return;
    }
  }

  function dispatch(): void {
    while (queue.length > 0 && closing === null) {
      const executor = [...executors].find((e) => e.status === 'idle');
      if (executor === undefined) return;
      const job = queue.shift() as Job;
      executor.status = 'busy';
      executor.job = job;
      job.startedMs = now();
      job.timer = setTimeout(() => timeOut(executor, job), job.request.timeoutMs);
      const { source, filename, config, context, onStarted } = job.request;
      send(executor, { type: 'run', runId: job.runId, source, filename, config, context });
      onStarted?.();
    }
  }

  function settle(job: Job, execution: Execution): void {
    if (job.settled) return;
    job.settled = true;
    if (job.timer !== null) clearTimeout(job.timer);
    job.resolve(execution);
  }

  function fail(job: Job, error: RunError, outcome: 'failed' | 'timed_out' = 'failed'): void {
    settle(job, { outcome, error, logs: job.logs, startedMs: job.startedMs, finishedMs: now() });
  }

  function timeOut(executor: Executor, job: Job): void {
    const message = `the run did not finish within ${job.request.timeoutMs} ms; its executor was killed and replaced`;
    fail(job, { stage: 'timeout', name: 'TimeoutError', message }, 'timed_out');
    kill(executor, 'its run timed out');
  }

  function onExit(executor: Executor, code: number | null, signal: NodeJS.Signals | null): void {
    if (!executors.delete(executor)) return;
    const wasStarting = executor.status === 'starting';
    executor.status = 'dead';
    clearDrain(executor);
    if (executor.job !== null) fail(executor.job, executorDeathError(executor.output, code, signal, options.memoryMb));
    executor.job = null;
    if (closing !== null) return;
    if (wasStarting) startupFailed(`an executor exited while starting (${describeExit(code, signal)}): ${executor.output.trim()}`);
    else spawn();
  }

  /** Executors that cannot start (bad flags, unreadable files) must not spin: back off, and fail waiting runs. */
  function startupFailed(reason: string): void {
    startupFailures += 1;
    lastStartupError = reason;
    const delay = Math.min(100 * 2 ** startupFailures, 10_000);
    logger.error({ reason, attempt: startupFailures }, `an executor failed to start; retrying in ${delay} ms`);
    if (startupFailures >= STARTUP_FAILURES_BEFORE_GIVING_UP) {
      for (const job of queue.splice(0)) fail(job, unavailable());
      settleReadyWaiters();
    }
    if (respawnTimer === null && closing === null) {
      respawnTimer = setTimeout(() => {
        respawnTimer = null;
        while (closing === null && executors.size < options.size) spawn();
      }, delay);
      respawnTimer.unref();
    }
  }

  function unavailable(): RunError {
    return { stage: 'executor', name: 'ExecutorUnavailable', message: `no executor could start: ${lastStartupError}` };
  }

  function settleReadyWaiters(): void {
    const started = [...executors].filter((e) => e.status !== 'starting' && e.status !== 'dead').length;
    const failedHard = startupFailures >= STARTUP_FAILURES_BEFORE_GIVING_UP;
    if (started < options.size && !failedHard) return;
    for (const waiter of readyWaiters.splice(0)) {
      if (started > 0 || !failedHard) waiter.resolve();
      else waiter.reject(new Error(unavailable().message));
    }
  }

  async function checkMemory(): Promise<void> {
    for (const executor of executors) {
      const pid = executor.child.pid;
      if ((executor.status !== 'busy' && executor.status !== 'draining') || pid === undefined) continue;
      const rssKb = await readRssKb(pid);
      // Re-read after the await: the executor may have finished or died meanwhile.
      if (rssKb === null || rssKb <= rssLimitKb || isDead(executor)) continue;
      const message = `the executor used ${Math.round(rssKb / 1024)} MB of memory, more than the ${Math.round(rssLimitKb / 1024)} MB allowed (twice DIRECTOR_EXECUTOR_MEMORY_MB); it was killed and replaced`;
      if (executor.job !== null) fail(executor.job, { stage: 'executor', name: 'MemoryLimitExceeded', message });
      kill(executor, 'memory limit');
    }
  }

  function shutdownError(message: string): RunError {
    return { stage: 'shutdown', name: 'ShutdownError', message };
  }

  async function close(graceMs: number): Promise<void> {
    for (const job of queue.splice(0)) fail(job, shutdownError('Director shut down before the run started'));
    for (const executor of executors) {
      if (executor.job !== null) send(executor, { type: 'abort', runId: executor.job.runId, reason: 'Director is shutting down' });
    }
    const deadline = Date.now() + graceMs;
    // Running scripts and the pending work of finished ones (un-awaited requests) may end within the grace.
    while (Date.now() < deadline && [...executors].some((e) => e.status === 'busy' || e.status === 'draining')) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(20, Math.max(1, deadline - Date.now()))));
    }
    clearInterval(watchdog);
    if (respawnTimer !== null) clearTimeout(respawnTimer);
    const exits = [...executors].map((e) => e.exited);
    for (const executor of executors) {
      if (executor.job !== null) fail(executor.job, shutdownError(`the run did not finish within the ${graceMs} ms shutdown grace and was killed`));
      kill(executor, 'shutdown');
    }
    await Promise.all(exits);
    launch.cleanup?.();
    for (const waiter of readyWaiters.splice(0)) waiter.reject(new Error('the executor pool was closed'));
  }

  return {
    ready() {
      return new Promise<void>((resolve, reject) => {
        readyWaiters.push({ resolve, reject });
        settleReadyWaiters();
      });
    },
    execute(request) {
      if (closing !== null) {
        return Promise.resolve({ outcome: 'failed', error: shutdownError('Director is shutting down; the run was not started'), logs: '', startedMs: now(), finishedMs: now() });
      }
      if (startupFailures >= STARTUP_FAILURES_BEFORE_GIVING_UP && ![...executors].some((e) => e.status !== 'starting')) {
        return Promise.resolve({ outcome: 'failed', error: unavailable(), logs: '', startedMs: now(), finishedMs: now() });
      }
      return new Promise<Execution>((resolve) => {
        queue.push({ runId: randomUUID(), request, resolve, startedMs: now(), logs: '', timer: null, settled: false });
        dispatch();
      });
    },
    state() {
      let busy = 0;
      for (const executor of executors) if (executor.status === 'busy') busy += 1;
      return { size: options.size, busy, queued: queue.length };
    },
    close(graceMs) {
      closing ??= close(graceMs);
      return closing;
    },
  };
}

function isDead(executor: { readonly status: string }): boolean {
  return executor.status === 'dead';
}
