// The boundary between "when/what to run" (scheduler, API) and "how a script runs" (executor pool).

import type { RunRecord, RunReport } from '../domain/run.js';
import type { Task } from '../domain/task.js';

export interface RunnerState {
  readonly executors: number;
  /** Runs fetching or executing now. */
  readonly running: number;
  /** Runs in an executor now (past their fetch). */
  readonly executing: number;
  /** Runs waiting for a place (DIRECTOR_MAX_RUNS). */
  readonly queued: number;
  readonly maxRuns: number;
}

export interface TaskRunner {
  /**
   * Runs a run row that the caller already created (a claimed slot, a retry attempt): waits for a place,
   * fetches the script, executes it, writes the outcome to the row and emits run:started/finished.
   * `stillWanted` is asked right before the fetch: when it says no (the task was stopped, deleted or
   * replaced meanwhile), nothing is fetched and the run is recorded as skipped.
   * Never rejects because of the script: a failing script is a recorded outcome.
   */
  runClaimed(task: Task, run: RunRecord, stillWanted?: () => boolean): Promise<RunRecord>;
  /** Runs a task now (`/run`): records a manual run and resolves when it has finished. */
  runNow(task: Task): Promise<RunRecord>;
  /** Runs script text with a config (`/tasks/test`); nothing is stored. */
  runTest(scriptText: string, config: unknown): Promise<RunReport>;
  /** The task's next slot is near: make ready what its run needs (its worker under strict). */
  prepare(taskId: string): void;
  /**
   * The task's slot at `slotMs` is a moment away (PREFETCH_AHEAD_MS): its script is fetched now, so the
   * run starts at its instant. Only the run of that slot uses it.
   */
  prefetch(task: Task, slotMs: number): void;
  /** The task is gone or changed: what was kept ready for it can go. */
  forget(taskId: string): void;
  poolState(): RunnerState;
  /** Pids of the executor processes: the API refuses them without a token. */
  executorPids(): number[];
  /** Stops taking runs; running scripts get `graceMs` to finish, then are killed (recorded as failed). */
  close(graceMs: number): Promise<void>;
}
