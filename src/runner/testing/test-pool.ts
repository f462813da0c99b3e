// Test helpers for the executor pool: a real pool with small limits, and an event-loop watcher that
// proves Director's process stayed responsive while a script misbehaved.

import { createLogger } from '../../lib/logger.js';
import { planExecutorLaunch, type LaunchOptions } from '../executor-launch.js';
import { createExecutorPool, type Execution, type ExecutorPool } from '../executor-pool.js';
import type { RunContext } from '../protocol.js';

export interface TestPool {
  readonly pool: ExecutorPool;
  /** Runs script text with a config; `timeoutMs` defaults to 5 s. */
  /**
   * `taskKey` is the isolation unit under strict: runs of other keys share nothing with it. Default: a key
   * of the run's own. `runId` defaults to `run-<n>`.
   */
  run(source: string, options?: { config?: unknown; timeoutMs?: number; context?: Partial<RunContext>; taskKey?: string; runId?: string }): Promise<Execution>;
  close(): Promise<void>;
}

export interface TestPoolOptions extends Partial<LaunchOptions> {
  readonly size?: number;
  readonly rssLimitMb?: number;
}

export async function startTestPool(options: TestPoolOptions = {}): Promise<TestPool> {
  const launch = planExecutorLaunch({
    policy: 'strict',
    memoryMb: 64,
    runMemoryMb: 64,
    maxWorkers: 64,
    drainMs: 1000,
    resultMaxBytes: 64 * 1024,
    logMaxBytes: 4 * 1024,
    scriptEnv: [],
    scriptModules: [],
    scriptModulesDir: null,
    scriptUser: 'nobody',
    scriptNetwork: 'allow',
    env: process.env,
    ...options,
  });
  const pool = createExecutorPool({ size: options.size ?? 2, launch, rssLimitMb: options.rssLimitMb ?? 1024, logger: createLogger('silent') });
  await pool.ready();
  let runs = 0;
  return {
    pool,
    run(source, runOptions = {}) {
      const context: RunContext = { taskId: 'test-task', slot: null, trigger: 'manual', attempt: 1, ...runOptions.context };
      const run = ++runs;
      return pool.execute({ runId: runOptions.runId ?? `run-${run}`, taskKey: runOptions.taskKey ?? `task-${run}`, source, filename: 'script.js', config: runOptions.config ?? {}, context, timeoutMs: runOptions.timeoutMs ?? 5000 });
    },
    close: () => pool.close(1000),
  };
}

export interface LoopWatch {
  /** The longest gap between two ticks of a 20 ms interval since the watch started. */
  maxGapMs(): number;
  stop(): void;
}

export function watchEventLoop(): LoopWatch {
  let last = Date.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    max = Math.max(max, now - last);
    last = now;
  }, 20);
  return {
    maxGapMs: () => Math.max(max, Date.now() - last),
    stop: () => clearInterval(timer),
  };
}

/** Narrows an execution to a failure (failed, timed out or lost) for assertions. */
export function failure(execution: Execution): Extract<Execution, { outcome: 'failed' | 'timed_out' | 'lost' }> {
  if (execution.outcome === 'succeeded') throw new Error(`expected a failure, got success with ${String(execution.result)}`);
  return execution;
}
