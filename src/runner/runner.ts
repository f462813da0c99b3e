// The boundary between "when/what to run" (scheduler, API) and "how a script runs" (executor pool).

import type { RunRecord, RunReport } from '../domain/run.js';
import type { Task } from '../domain/task.js';

export interface TaskRunner {
  /**
   * Runs a run row that the caller already created (a claimed slot, a retry attempt): fetches the
   * script, executes it in an executor, writes the outcome to the row and emits run:started/finished.
   * Never rejects because of the script: a failing script is a recorded outcome.
   */
  runClaimed(task: Task, run: RunRecord): Promise<RunRecord>;
  /** Runs a task now (`/run`): records a manual run and resolves when it has finished. */
  runNow(task: Task): Promise<RunRecord>;
  /** Runs script text with a config (`/tasks/test`); nothing is stored. */
  runTest(scriptText: string, config: unknown): Promise<RunReport>;
  /** Executors in the pool and how many are busy, for /ready and /metrics. */
  poolState(): { readonly size: number; readonly busy: number; readonly queued: number };
  /** Stops taking runs; running scripts get `graceMs` to finish, then are killed (recorded as failed). */
  close(graceMs: number): Promise<void>;
}
