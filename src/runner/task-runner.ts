// The TaskRunner: fetches a task's script on every run, executes it in the executor pool, records the
// outcome in the store and announces it; the script's failures are outcomes, never exceptions.

import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import type { RunError, RunRecord, RunReport } from '../domain/run.js';
import { taskConfig, type Task } from '../domain/task.js';
import type { Assets } from '../assets/assets.js';
import type { Clock } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import { planExecutorLaunch } from './executor-launch.js';
import { createExecutorPool, type Execution } from './executor-pool.js';
import { createFetchWindow } from './fetch-window.js';
import type { RunContext } from './protocol.js';
import type { TaskRunner } from './runner.js';

export interface TaskRunnerDeps {
  readonly config: Config;
  readonly store: Store;
  readonly assets: Pick<Assets, 'fetchScript'>;
  readonly events: DirectorEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Director's environment: executors get all of it under trusted, only DIRECTOR_SCRIPT_ENV under strict. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface DirectorTaskRunner extends TaskRunner {
  /** Resolves once every executor is warm (tests, benchmarks, /ready). */
  ready(): Promise<void>;
}

export function createTaskRunner(deps: TaskRunnerDeps): DirectorTaskRunner {
  const { config, store, assets, events, clock, logger } = deps;
  const launch = planExecutorLaunch({
    policy: config.scriptPolicy,
    memoryMb: config.executorMemoryMb,
    drainMs: config.drainMs,
    resultMaxBytes: config.resultMaxBytes,
    logMaxBytes: config.logMaxBytes,
    scriptEnv: config.scriptEnv,
    scriptModules: config.scriptModules,
    scriptModulesDir: config.scriptModulesDir,
    scriptUser: config.scriptUser,
    scriptNetwork: config.scriptNetwork,
    env: deps.env,
  });
  for (const warning of launch.warnings) logger.warn(warning);
  const pool = createExecutorPool({ size: config.executors, launch, memoryMb: config.executorMemoryMb, drainMs: config.drainMs, logger, now: () => clock.now() });

  let closing: Promise<void> | null = null;
  const inflight = new Set<Promise<RunRecord>>();
  /**
   * A task's own `timeout` applies to every run of it; without one, /run gets the longer manual
   * default, because the Databases UI's backup scripts run for minutes behind a held request.
   */
  function timeoutOf(task: Task, scheduled: boolean): number {
    return task.settings.timeoutMs ?? (scheduled ? config.runTimeoutMs : config.manualRunTimeoutMs);
  }

  // Scripts fetched ahead of the executors: enough to hide a remote assets server's round trip (tens of
  // ms at thousands of runs per second), few enough that a burst's fetching does not starve them.
  const fetchWindow = createFetchWindow(Math.max(64, 16 * config.executors));

  async function execute(script: string, scriptConfig: unknown, context: RunContext, timeoutMs: number): Promise<RunReport> {
    const startedMs = clock.now();
    const release = await fetchWindow.enter();
    try {
      // Runs that waited behind a burst while Director began to stop are not fetched for nothing.
      if (closing !== null) return { outcome: 'failed', error: SHUT_DOWN_BEFORE_START, logs: '', startedMs, finishedMs: clock.now(), scriptUrl: null, scriptSha256: null };
      let fetched;
      try {
        fetched = await assets.fetchScript(script);
      } catch (error) {
        const details = (error as { details?: { url?: unknown } }).details;
        const scriptUrl = typeof details?.url === 'string' ? details.url : null;
        return { outcome: 'failed', error: describe('fetch', error), logs: '', startedMs, finishedMs: clock.now(), scriptUrl, scriptSha256: null };
      }
      const execution = await pool.execute({ source: fetched.text, filename: fetched.url, config: scriptConfig, context, timeoutMs, onStarted: release });
      return toReport(execution, startedMs, fetched.url, fetched.sha256);
    } finally {
      release(); // when no executor took it (a failed fetch, shutdown); a no-op otherwise
    }
  }

  async function record(task: Task, run: RunRecord, timeoutMs: number): Promise<RunRecord> {
    events.emit('run:started', run);
    const context: RunContext = { taskId: task.id, slot: run.slot, trigger: run.trigger, attempt: run.attempt };
    const report = await execute(task.script, taskConfig(task.doc), context, timeoutMs);
    let finished: RunRecord | undefined;
    try {
      finished = await writeOutcome(run, report);
      if (finished === undefined) {
        logger.warn({ taskId: task.id, runId: run.id }, 'the run was no longer running when it finished (its lease expired?); its outcome was not recorded');
        finished = await store.getRun(run.id);
      }
    } catch (error) {
      logger.error({ err: error, taskId: task.id, runId: run.id }, 'recording a run outcome failed; the run will be marked lost when its lease expires');
    }
    const ended = finished ?? asRecord(run, report);
    const level = ended.status === 'succeeded' ? 'debug' : 'info';
    logger[level]({ taskId: task.id, runId: run.id, status: ended.status, stage: ended.error?.stage, durationMs: ended.durationMs }, `run ${ended.status}`);
    events.emit('run:finished', ended);
    return ended;
  }

  /**
   * A store that cannot be reached (a dropped connection, a failover) is tried again with capped
   * backoff until shutdown, so a short outage loses no outcome; the run stays leased meanwhile.
   */
  async function writeOutcome(run: RunRecord, report: RunReport): Promise<RunRecord | undefined> {
    for (let waitMs = 200, attempt = 1; ; attempt++, waitMs = Math.min(5000, waitMs * 2)) {
      try {
        return report.outcome !== 'succeeded' && report.error.stage === 'shutdown'
          ? await store.abandonRun(run.id, 'failed', report.error, report.finishedMs)
          : await store.finishRun(run.id, report);
      } catch (error) {
        if (closing !== null) throw error;
        if (attempt === 1) logger.warn({ err: error, runId: run.id }, `recording the outcome of run ${run.id} failed; retrying in ${waitMs} ms until the store answers`);
        await new Promise<void>((resolve) => clock.setTimer(resolve, waitMs));
      }
    }
  }

  function track(promise: Promise<RunRecord>): Promise<RunRecord> {
    inflight.add(promise);
    void promise.finally(() => inflight.delete(promise)).catch(() => {});
    return promise;
  }

  async function refuse(run: RunRecord): Promise<RunRecord> {
    const error: RunError = { stage: 'shutdown', name: 'ShutdownError', message: 'Director is shutting down; the run was not started' };
    return (await store.abandonRun(run.id, 'failed', error, clock.now())) ?? run;
  }

  return {
    ready: () => pool.ready(),
    runClaimed(task, run) {
      if (closing !== null) return refuse(run);
      return track(record(task, run, timeoutOf(task, run.trigger === 'schedule')));
    },
    async runNow(task) {
      const run = await store.insertRun({ taskId: task.id, slot: null, attempt: 1, trigger: 'manual', owner: config.instanceId, nowMs: clock.now(), leaseMs: config.leaseMs });
      if (run === undefined) throw new Error(`could not record a manual run of task "${task.id}"`);
      if (closing !== null) return refuse(run);
      return track(record(task, run, timeoutOf(task, false)));
    },
    async runTest(scriptText, scriptConfig) {
      const startedMs = clock.now();
      const sha256 = createHash('sha256').update(scriptText).digest('hex');
      const context: RunContext = { taskId: null, slot: null, trigger: 'test', attempt: 1 };
      const execution = await pool.execute({ source: scriptText, filename: 'test.js', config: scriptConfig, context, timeoutMs: config.manualRunTimeoutMs });
      return toReport(execution, startedMs, null, sha256);
    },
    poolState: () => pool.state(),
    close(graceMs) {
      closing ??= (async () => {
        await pool.close(graceMs);
        // Runs the pool just ended still write their outcome; the store closes after this resolves.
        await Promise.allSettled([...inflight]);
      })();
      return closing;
    },
  };
}

const SHUT_DOWN_BEFORE_START: RunError = { stage: 'shutdown', name: 'ShutdownError', message: 'Director shut down before the run started' };

function toReport(execution: Execution, startedMs: number, scriptUrl: string | null, scriptSha256: string | null): RunReport {
  const common = { logs: execution.logs, startedMs, finishedMs: Math.max(startedMs, execution.finishedMs), scriptUrl, scriptSha256 };
  return execution.outcome === 'succeeded'
    ? { outcome: 'succeeded', result: execution.result, ...common }
    : { outcome: execution.outcome, error: execution.error, ...common };
}

function describe(stage: RunError['stage'], error: unknown): RunError {
  if (error instanceof Error) return { stage, name: error.name === 'DirectorError' ? 'FetchError' : error.name, message: error.message };
  return { stage, name: 'Error', message: String(error) };
}

/** The outcome as a record when the store could not return one (it failed, or the row was gone). */
function asRecord(run: RunRecord, report: RunReport): RunRecord {
  return {
    ...run,
    status: report.outcome,
    result: report.outcome === 'succeeded' ? report.result : null,
    error: report.outcome === 'succeeded' ? null : report.error,
    logs: report.logs,
    startedMs: report.startedMs,
    finishedMs: report.finishedMs,
    durationMs: report.finishedMs - report.startedMs,
    scriptUrl: report.scriptUrl,
    scriptSha256: report.scriptSha256,
    leaseUntilMs: null,
  };
}
