// A pool of executor processes, each running many runs at once: a run that waits on I/O holds nothing
// another run needs. Under strict, each task's runs go to the executor that holds its worker.
// A run that times out ends alone (strict: its worker; trusted: its signal, or its executor when the
// executor no longer answers); an executor that dies or is killed ends the runs it held as `lost`.

import type { RunError } from '../domain/run.js';
import { describeExit, executorDeathError, readRssKb, type ExecuteRequest, type Execution, type ExecutorPool, type ExecutorPoolOptions, type PoolState } from './execution.js';
import { killExecutor, OUTPUT_TAIL_CHARS, sendToExecutor, spawnExecutor, type Executor, type Job } from './executor-process.js';
import { MAX_RUN_ID_CHARS, type FromExecutor, type ToExecutor } from './protocol.js';

export type { ExecuteRequest, Execution, ExecutorPool, ExecutorPoolOptions, PoolState };

const WATCHDOG_MS = 100;
/** A trusted executor that does not answer a ping within this after a timeout is blocked (a loop): it is killed. */
const PING_GRACE_MS = 1000;
const STARTUP_FAILURES_BEFORE_GIVING_UP = 3;
/** Late messages are expected for this many runs an executor held that were settled without it. */
const SETTLED_IDS_KEPT = 1000;

export function createExecutorPool(options: ExecutorPoolOptions): ExecutorPool {
  const { launch, logger } = options;
  const now = options.now ?? Date.now;
  const strict = launch.init.policy === 'strict';
  const executors = new Set<Executor>();
  /** Runs that came while no executor was ready yet. */
  const waiting: Array<{ request: ExecuteRequest; resolve: (execution: Execution) => void }> = [];
  /** strict: which executor holds each task's worker. */
  const affinity = new Map<string, Executor>();
  // The largest legitimate message: a result and the logs, both capped, plus the header.
  const maxMessageBytes = launch.init.resultMaxBytes + launch.init.logMaxBytes + 256 * 1024;
  let closing: Promise<void> | null = null;
  let startupFailures = 0;
  let lastStartupError = '';
  let respawnTimer: NodeJS.Timeout | null = null;
  let nextPing = 0;
  const pings = new Map<number, { executor: Executor; timer: NodeJS.Timeout }>();
  const readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const rssLimitKb = options.rssLimitMb * 1024;
  const watchdog = setInterval(checkMemory, WATCHDOG_MS);
  watchdog.unref();
  const send = (executor: Executor, message: ToExecutor, body: Buffer | null = null): void => sendToExecutor(executor, message, body);
  const kill = (executor: Executor, reason: string): void => killExecutor(executor, reason, logger);

  for (let i = 0; i < options.size; i++) spawn();

  function spawn(): void {
    let executor: Executor;
    try {
      executor = spawnExecutor({ launch, logger, maxMessageBytes, onMessage: handle, onBroken: broken, onExit });
    } catch (error) {
      startupFailed(`cannot spawn an executor: ${String(error)}`);
      return;
    }
    executors.add(executor);
    send(executor, launch.init);
  }

  /** A message Director cannot accept ends the executor that sent it; Director goes on. */
  function broken(executor: Executor, reason: string): void {
    if (executor.status === 'dead') return;
    logger.warn({ pid: executor.child.pid, reason }, 'an executor broke the protocol; it is killed and its runs are lost');
    kill(executor, `protocol: ${reason}`);
  }

  function handle(executor: Executor, message: FromExecutor): void {
    if (executor.status === 'dead') return;
    if (message.type === 'ready') {
      if (executor.status !== 'starting') return broken(executor, 'a second ready');
      executor.status = 'ready';
      startupFailures = 0;
      settleReadyWaiters();
      for (const { request, resolve } of waiting.splice(0)) dispatch(request, resolve);
      return;
    }
    if (message.type === 'pong') {
      const ping = pings.get(message.id);
      if (ping?.executor === executor) {
        clearTimeout(ping.timer);
        pings.delete(message.id);
        executor.suspect = false;
        for (const { request, resolve } of waiting.splice(0)) dispatch(request, resolve);
      }
      return;
    }
    const job = executor.jobs.get(message.runId);
    if (job === undefined) {
      // Only runs this executor held may still be spoken of (a late log, the end of a timed-out run).
      if (!executor.settledIds.has(message.runId)) broken(executor, `a message about run ${message.runId}, which it does not hold`);
      else if (message.type === 'late' || message.type === 'log') logger.info({ runId: message.runId, output: message.text.slice(0, OUTPUT_TAIL_CHARS) }, 'script output after its run was recorded');
      return;
    }
    switch (message.type) {
      case 'entered':
        if (job.enteredMs !== null) return broken(executor, 'a run entered twice');
        // The executor's wall clock, moved onto the pool's clock (the cluster's may be offset).
        job.enteredMs = message.atMs + (now() - Date.now());
        return;
      case 'log':
        job.logs += message.text;
        return;
      case 'late':
        return;
      case 'end':
        return settle(job, { ...message.end, enteredMs: job.enteredMs, finishedMs: now() });
    }
  }

  /**
   * strict: a task's runs go to the executor that holds its workers; a new task (or one whose executor
   * died) to the executor holding the fewest tasks. trusted: nothing is kept per task, so a run goes to
   * the executor with the fewest runs in progress.
   */
  function pick(taskKey: string): Executor | undefined {
    const held = strict ? affinity.get(taskKey) : undefined;
    if (held !== undefined && held.status === 'ready') return held;
    let best: Executor | undefined;
    for (const executor of executors) {
      if (executor.status !== 'ready' || executor.suspect) continue;
      const load = strict ? executor.taskKeys.size : executor.jobs.size;
      if (best === undefined || load < (strict ? best.taskKeys.size : best.jobs.size)) best = executor;
    }
    if (strict && best !== undefined) {
      held?.taskKeys.delete(taskKey);
      affinity.set(taskKey, best);
      best.taskKeys.add(taskKey);
    }
    return best;
  }

  function dispatch(request: ExecuteRequest, resolve: (execution: Execution) => void): void {
    const executor = pick(request.taskKey);
    if (executor === undefined) {
      waiting.push({ request, resolve });
      return;
    }
    const { runId } = request;
    const job: Job = { runId, request, resolve, executor, enteredMs: null, logs: '', timer: null, settled: false };
    executor.jobs.set(runId, job);
    job.timer = setTimeout(() => timeOut(job), request.timeoutMs);
    const { taskKey, filename, config, context } = request;
    send(executor, { type: 'run', runId, taskKey, filename, config, context }, Buffer.from(request.source));
  }

  function settle(job: Job, execution: Execution): void {
    if (job.settled) return;
    job.settled = true;
    if (job.timer !== null) clearTimeout(job.timer);
    job.executor.jobs.delete(job.runId);
    job.resolve(execution);
  }

  /** Settled without the executor: what it says later of this run is expected, not a breach. */
  function settleAside(job: Job, outcome: 'failed' | 'timed_out' | 'lost', error: RunError): void {
    const ids = job.executor.settledIds;
    ids.add(job.runId);
    if (ids.size > SETTLED_IDS_KEPT) ids.delete(ids.values().next().value as string);
    settle(job, { outcome, error, logs: job.logs, enteredMs: job.enteredMs, finishedMs: now() });
  }

  function timeOut(job: Job): void {
    const executor = job.executor;
    const ended = strict ? 'its worker was ended' : 'its signal was aborted';
    settleAside(job, 'timed_out', { stage: 'timeout', name: 'TimeoutError', message: `the run did not finish within ${job.request.timeoutMs} ms; ${ended}` });
    send(executor, { type: 'cancel', runId: job.runId, reason: 'timeout' });
    if (!strict) checkResponsive(executor);
  }

  /** A trusted script in a loop blocks its whole executor: if it does not answer, it is killed. */
  function checkResponsive(executor: Executor): void {
    const id = ++nextPing;
    // Until it answers, new runs wait rather than join a script that may be blocking it.
    executor.suspect = true;
    const timer = setTimeout(() => {
      pings.delete(id);
      if (executor.status === 'dead') return;
      logger.warn({ pid: executor.child.pid, runs: executor.jobs.size }, `an executor did not answer within ${PING_GRACE_MS} ms after a run timed out (a script blocks it); killing it, its other runs are lost`);
      lose(executor, { stage: 'executor', name: 'ExecutorBlocked', message: 'another run blocked the executor this run shared past its timeout; the executor was killed' });
      kill(executor, 'blocked after a timeout');
    }, PING_GRACE_MS);
    pings.set(id, { executor, timer });
    send(executor, { type: 'ping', id });
  }

  function lose(executor: Executor, error: RunError): void {
    for (const job of [...executor.jobs.values()]) settleAside(job, 'lost', error);
  }

  function onExit(executor: Executor, code: number | null, signal: NodeJS.Signals | null): void {
    if (!executors.delete(executor)) return;
    const wasStarting = executor.status === 'starting';
    executor.status = 'dead';
    for (const key of executor.taskKeys) if (affinity.get(key) === executor) affinity.delete(key);
    lose(executor, executorDeathError(executor.output, code, signal));
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
      for (const { resolve } of waiting.splice(0)) resolve(failure(unavailable()));
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

  /**
   * Executors name a run by its id alone: a second run under an id in flight (or settled while its
   * executor may still be running it) would be settled by the first one's messages. Ids are the run rows'
   * own, so this is a caller's bug; the run fails rather than being mistaken for another.
   */
  function refusedId(runId: string): RunError | null {
    if (runId === '' || runId.length > MAX_RUN_ID_CHARS) {
      return { stage: 'executor', name: 'InvalidRunId', message: `the run id "${runId.slice(0, MAX_RUN_ID_CHARS)}" is not 1 to ${MAX_RUN_ID_CHARS} characters long; the run was not started` };
    }
    const held = waiting.some(({ request }) => request.runId === runId) || [...executors].some((e) => e.jobs.has(runId) || e.settledIds.has(runId));
    return held ? { stage: 'executor', name: 'RunIdInFlight', message: `a run with id ${runId} is already in flight; this one was not started` } : null;
  }

  function failure(error: RunError): Execution {
    return { outcome: 'failed', error, logs: '', enteredMs: null, finishedMs: now() };
  }

  function unavailable(): RunError {
    return { stage: 'executor', name: 'ExecutorUnavailable', message: `no executor could start: ${lastStartupError}` };
  }

  function settleReadyWaiters(): void {
    const started = [...executors].filter((e) => e.status === 'ready').length;
    const failedHard = startupFailures >= STARTUP_FAILURES_BEFORE_GIVING_UP;
    if (started < options.size && !failedHard) return;
    for (const waiter of readyWaiters.splice(0)) {
      if (started > 0 || !failedHard) waiter.resolve();
      else waiter.reject(new Error(unavailable().message));
    }
  }

  function checkMemory(): void {
    for (const executor of executors) {
      const pid = executor.child.pid;
      if (executor.status !== 'ready' || pid === undefined) continue;
      const rssKb = readRssKb(pid);
      if (rssKb === null || rssKb <= rssLimitKb) continue;
      const message = `the executor used ${Math.round(rssKb / 1024)} MB of memory, more than the ${options.rssLimitMb} MB each may use (DIRECTOR_EXECUTION_MEMORY_MB / DIRECTOR_EXECUTORS); it was killed and replaced`;
      logger.warn({ pid, runs: executor.jobs.size }, message);
      const error: RunError = { stage: 'executor', name: 'MemoryLimitExceeded', message };
      // Memory outside the heaps (Buffers) cannot be told apart per run: a lone run is the one to blame,
      // runs sharing the executor are lost (and follow their task's retries).
      const [only, ...others] = executor.jobs.values();
      if (only !== undefined && others.length === 0) settleAside(only, 'failed', error);
      else lose(executor, error);
      kill(executor, 'memory limit');
    }
  }

  function shutdownError(message: string): RunError {
    return { stage: 'shutdown', name: 'ShutdownError', message };
  }

  async function close(graceMs: number): Promise<void> {
    for (const { resolve } of waiting.splice(0)) resolve(failure(shutdownError('Director shut down before the run started')));
    for (const executor of executors) {
      for (const job of executor.jobs.values()) send(executor, { type: 'abort', runId: job.runId, reason: 'Director is shutting down' });
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && [...executors].some((e) => e.jobs.size > 0)) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(20, Math.max(1, deadline - Date.now()))));
    }
    clearInterval(watchdog);
    if (respawnTimer !== null) clearTimeout(respawnTimer);
    for (const { timer } of pings.values()) clearTimeout(timer);
    const exits = [...executors].map((e) => e.exited);
    for (const executor of executors) {
      for (const job of [...executor.jobs.values()]) settleAside(job, 'failed', shutdownError(`the run did not finish within the ${graceMs} ms shutdown grace and was killed`));
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
      if (closing !== null) return Promise.resolve(failure(shutdownError('Director is shutting down; the run was not started')));
      if (startupFailures >= STARTUP_FAILURES_BEFORE_GIVING_UP && ![...executors].some((e) => e.status === 'ready')) {
        return Promise.resolve(failure(unavailable()));
      }
      const refused = refusedId(request.runId);
      if (refused !== null) {
        logger.error({ taskKey: request.taskKey }, refused.message);
        return Promise.resolve(failure(refused));
      }
      return new Promise<Execution>((resolve) => dispatch(request, resolve));
    },
    prepare(taskKey) {
      // trusted: nothing is prepared per task (runs share their executor's one context).
      if (!strict || closing !== null) return;
      const executor = pick(taskKey);
      if (executor !== undefined) send(executor, { type: 'prepare', taskKey });
    },
    forget(taskKey) {
      if (!strict) return;
      const executor = affinity.get(taskKey);
      if (executor === undefined) return;
      affinity.delete(taskKey);
      executor.taskKeys.delete(taskKey);
      send(executor, { type: 'forget', taskKey });
    },
    pids() {
      const pids: number[] = [];
      for (const executor of executors) if (executor.child.pid !== undefined) pids.push(executor.child.pid);
      return pids;
    },
    state() {
      let running = 0;
      for (const executor of executors) running += executor.jobs.size;
      return { executors: executors.size, running };
    },
    close(graceMs) {
      closing ??= close(graceMs);
      return closing;
    },
  };
}
