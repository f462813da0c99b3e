// The TaskRunner: waits for a place among the runs in progress, fetches a task's script on every run,
// executes it in the executor pool, records the outcome with its three instants (queued, entered,
// ended) and announces it; the script's failures are outcomes, never exceptions.

import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { endColumns, type RunError, type RunRecord, type RunReport } from '../domain/run.js';
import { taskConfig, type Task } from '../domain/task.js';
import type { Assets } from '../assets/assets.js';
import type { FetchedScript } from '../assets/fetch-script.js';
import type { Clock } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import { planExecutorLaunch } from './executor-launch.js';
import { createExecutorPool, type Execution } from './executor-pool.js';
import { createPrefetchedScripts } from './prefetched-scripts.js';
import { createRunLimit } from './run-limit.js';
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

/** What a run that never started because its task changed is recorded with. */
export const NOT_WANTED: Pick<RunError, 'stage' | 'name'> = { stage: 'executor', name: 'Skipped' };

export function createTaskRunner(deps: TaskRunnerDeps): DirectorTaskRunner {
  const { config, store, assets, events, clock, logger } = deps;
  const launch = planExecutorLaunch({
    policy: config.scriptPolicy,
    memoryMb: config.executorMemoryMb,
    runMemoryMb: config.runMemoryMb,
    maxWorkers: Math.ceil(config.maxRuns / config.executors),
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
  const pool = createExecutorPool({
    size: config.executors,
    launch,
    rssLimitMb: Math.floor(config.executionMemoryMb / config.executors),
    logger,
    now: () => clock.now(),
  });
  const limit = createRunLimit(config.maxRuns);
  const prefetched = createPrefetchedScripts({ fetchScript: (script) => assets.fetchScript(script), now: () => clock.now() });

  let closing: Promise<void> | null = null;
  let testRuns = 0;
  /**
   * Tasks prepared whose run has not come yet. Past DIRECTOR_MAX_RUNS of them a prepared worker would
   * only push out another one (each executor keeps its share of that many): further prepares are skipped.
   */
  const prepared = new Set<string>();
  const inflight = new Set<Promise<RunRecord>>();
  /**
   * A task's own `timeout` applies to every run of it; without one, /run gets the longer manual
   * default, because the Databases UI's backup scripts run for minutes behind a held request.
   */
  function timeoutOf(task: Task, scheduled: boolean): number {
    return task.settings.timeoutMs ?? (scheduled ? config.runTimeoutMs : config.manualRunTimeoutMs);
  }

  interface Attempt {
    /** The run row's id: the pool, the executor and their logs name the run by it. */
    readonly runId: string;
    readonly taskKey: string;
    readonly script: string;
    readonly config: unknown;
    readonly context: RunContext;
    readonly timeoutMs: number;
    readonly stillWanted: () => boolean;
  }

  /** A run's report, or the reason it was not wanted any more when its turn came. */
  async function execute(attempt: Attempt): Promise<RunReport | { readonly notWanted: string }> {
    const queuedMs = clock.now();
    const release = await limit.enter();
    try {
      const startedMs = clock.now();
      const before = { logs: '', queuedMs, startedMs, scriptUrl: null, scriptSha256: null };
      // Runs that waited behind a burst while Director began to stop are not fetched for nothing.
      if (closing !== null) return { outcome: 'failed', error: SHUT_DOWN_BEFORE_START, ...before, finishedMs: clock.now() };
      if (!attempt.stillWanted()) return { notWanted: 'not started: its task was stopped, deleted or replaced while the run waited' };
      let fetched;
      try {
        fetched = await fetchFor(attempt);
      } catch (error) {
        const details = (error as { details?: { url?: unknown } }).details;
        const scriptUrl = typeof details?.url === 'string' ? details.url : null;
        return { outcome: 'failed', error: describe('fetch', error), ...before, scriptUrl, finishedMs: clock.now() };
      }
      const execution = await pool.execute({
        runId: attempt.runId,
        taskKey: attempt.taskKey,
        source: fetched.text,
        filename: fetched.url,
        config: attempt.config,
        context: attempt.context,
        timeoutMs: attempt.timeoutMs,
      });
      return toReport(execution, { queuedMs, startedMs, scriptUrl: fetched.url, scriptSha256: fetched.sha256 });
    } finally {
      release();
    }
  }

  /** A scheduled run uses the script fetched ahead for its slot; a prefetch that failed is tried again. */
  function fetchFor(attempt: Attempt): Promise<FetchedScript> {
    const { taskId, slot, trigger } = attempt.context;
    const ahead = trigger === 'schedule' && taskId !== null && slot !== null ? prefetched.take(taskId, slot, attempt.script) : undefined;
    return ahead === undefined ? assets.fetchScript(attempt.script) : ahead.catch(() => assets.fetchScript(attempt.script));
  }

  async function record(task: Task, run: RunRecord, timeoutMs: number, stillWanted: () => boolean): Promise<RunRecord> {
    prepared.delete(task.id);
    events.emit('run:started', run);
    const context: RunContext = { taskId: task.id, slot: run.slot, trigger: run.trigger, attempt: run.attempt };
    const report = await execute({ runId: String(run.id), taskKey: task.id, script: task.script, config: taskConfig(task.doc), context, timeoutMs, stillWanted });
    let finished: RunRecord | undefined;
    try {
      finished = 'notWanted' in report
        ? await store.abandonRun(run.id, 'skipped', { ...NOT_WANTED, message: report.notWanted }, clock.now())
        : await writeOutcome(run, report);
      if (finished === undefined) {
        logger.warn({ taskId: task.id, runId: run.id }, 'the run was no longer running when it finished (its lease expired?); its outcome was not recorded');
        finished = await store.getRun(run.id);
      }
    } catch (error) {
      logger.error({ err: error, taskId: task.id, runId: run.id }, 'recording a run outcome failed; the run will be marked lost when its lease expires');
    }
    const ended = finished ?? ('notWanted' in report ? { ...run, status: 'skipped' as const } : asRecord(run, report));
    const level = ended.status === 'succeeded' || ended.status === 'skipped' ? 'debug' : 'info';
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

  const always = (): boolean => true;

  return {
    ready: () => pool.ready(),
    runClaimed(task, run, stillWanted = always) {
      if (closing !== null) return refuse(run);
      // A backfill run is a slot's run too: the scheduled timeout applies, not the manual one.
      return track(record(task, run, timeoutOf(task, run.trigger !== 'manual'), stillWanted));
    },
    async runNow(task) {
      const run = await store.insertRun({ taskId: task.id, slot: null, attempt: 1, trigger: 'manual', owner: config.instanceId, nowMs: clock.now(), leaseMs: config.leaseMs });
      if (run === undefined) throw new Error(`could not record a manual run of task "${task.id}"`);
      if (closing !== null) return refuse(run);
      return track(record(task, run, timeoutOf(task, false), always));
    },
    async runTest(scriptText, scriptConfig) {
      const queuedMs = clock.now();
      const sha256 = createHash('sha256').update(scriptText).digest('hex');
      const context: RunContext = { taskId: null, slot: null, trigger: 'test', attempt: 1 };
      // Every test run is a task of its own: nothing of one reaches another, nor any task's runs. Its id
      // cannot be a stored run's (those are numbers).
      const testRun = ++testRuns;
      const taskKey = `test:${testRun}`;
      const release = await limit.enter();
      try {
        const startedMs = clock.now();
        const execution = await pool.execute({ runId: `test-${testRun}`, taskKey, source: scriptText, filename: 'test.js', config: scriptConfig, context, timeoutMs: config.manualRunTimeoutMs });
        return toReport(execution, { queuedMs, startedMs, scriptUrl: null, scriptSha256: sha256 });
      } finally {
        release();
        pool.forget(taskKey);
      }
    },
    executorPids: () => pool.pids(),
    prepare(taskId) {
      if (prepared.has(taskId) || prepared.size >= config.maxRuns) return;
      prepared.add(taskId);
      pool.prepare(taskId);
    },
    prefetch(task, slotMs) {
      if (closing === null) prefetched.fetch(task, slotMs);
    },
    forget(taskId) {
      prepared.delete(taskId);
      prefetched.drop(taskId);
      pool.forget(taskId);
    },
    poolState() {
      const state = pool.state();
      return { executors: state.executors, running: limit.inside(), executing: state.running, queued: limit.waiting(), maxRuns: config.maxRuns };
    },
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

interface Before {
  readonly queuedMs: number;
  /** When the run got its place: its start when main() was never entered. */
  readonly startedMs: number;
  readonly scriptUrl: string | null;
  readonly scriptSha256: string | null;
}

function toReport(execution: Execution, before: Before): RunReport {
  const { enteredMs, finishedMs, ...end } = execution;
  const startedMs = enteredMs ?? before.startedMs;
  return { ...end, queuedMs: before.queuedMs, startedMs, finishedMs: Math.max(startedMs, finishedMs), scriptUrl: before.scriptUrl, scriptSha256: before.scriptSha256 };
}

function describe(stage: RunError['stage'], error: unknown): RunError {
  if (error instanceof Error) return { stage, name: error.name === 'DirectorError' ? 'FetchError' : error.name, message: error.message };
  return { stage, name: 'Error', message: String(error) };
}

/** The outcome as a record when the store could not return one (it failed, or the row was gone). */
function asRecord(run: RunRecord, report: RunReport): RunRecord {
  const { queuedMs, startedMs, finishedMs, scriptUrl, scriptSha256 } = report;
  return { ...run, ...endColumns(report), queuedMs, startedMs, finishedMs, durationMs: finishedMs - startedMs, scriptUrl, scriptSha256, leaseUntilMs: null };
}
