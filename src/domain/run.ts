// Runs: one execution of a task's script, and how it ended.

/**
 * What started a run. A scheduled run has a slot; retries of a slot keep it and raise `attempt`. A
 * backfill run has the slot it runs again (domain/backfill.ts), beside the slot's scheduled run.
 */
export type Trigger =
  | { readonly kind: 'schedule'; readonly slot: number }
  | { readonly kind: 'backfill'; readonly slot: number; readonly backfillId: number }
  | { readonly kind: 'manual' }
  | { readonly kind: 'test' };

export type TriggerKind = Trigger['kind'];

/** Final outcomes. `skipped`: the slot was not run (overlap, missed during downtime). `lost`: its owner died. */
export type RunOutcome = 'succeeded' | 'failed' | 'timed_out' | 'skipped' | 'lost';
export type RunStatus = 'running' | RunOutcome;

export const RUN_OUTCOMES: readonly RunOutcome[] = ['succeeded', 'failed', 'timed_out', 'skipped', 'lost'];

/** The stage at which a script failed; `fetch` and `compile` happen before any of its code runs. */
export type FailureStage = 'fetch' | 'compile' | 'run' | 'timeout' | 'serialize' | 'executor' | 'shutdown';

export interface RunError {
  readonly stage: FailureStage;
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

export interface RunRecord {
  readonly id: number;
  readonly taskId: string;
  /** The slot for scheduled and backfill runs, null for manual runs. */
  readonly slot: number | null;
  readonly attempt: number;
  readonly trigger: TriggerKind;
  /** The backfill a `backfill` run belongs to; null for every other trigger. */
  readonly backfillId: number | null;
  readonly status: RunStatus;
  /** Which Director process owns (or owned) the run. */
  readonly owner: string;
  readonly createdMs: number;
  /** When the run was handed to execution (it may then wait for a place among the runs in progress). */
  readonly queuedMs: number | null;
  /** When the script's main() was entered (reported by its executor); when it never was, when Director got to the run. */
  readonly startedMs: number | null;
  readonly finishedMs: number | null;
  readonly durationMs: number | null;
  /** startedMs − slot: how late the script really began, queue wait included. Null for manual runs. */
  readonly latenessMs: number | null;
  /** The script's result as JSON text (size-capped). */
  readonly result: string | null;
  readonly error: RunError | null;
  readonly logs: string | null;
  readonly scriptUrl: string | null;
  readonly scriptSha256: string | null;
  /** While running: until when the owner's lease holds; a run past it may be declared lost. */
  readonly leaseUntilMs: number | null;
}

/** Outcomes of a run that ran, or tried to, and did not succeed. `lost`: not its own fault (retries apply). */
export type FailedOutcome = 'failed' | 'timed_out' | 'lost';

/**
 * How a run ended: the one shape every hop passes on, from the script's executor to the run's row.
 * The executor reports `succeeded` or `failed` (`RunEnd<'failed'>`); the executor pool adds `timed_out`
 * and `lost` for runs it settles without it, and the instants (`Execution`); the runner adds the queue
 * and the script (`RunReport`), which the store writes into the row.
 */
export type RunEnd<Failure extends FailedOutcome = FailedOutcome> =
  | {
      readonly outcome: 'succeeded';
      /**
       * JSON text of the result; null when `main` returned undefined. That is a success for a
       * scheduled run, but /run and /tasks/test answer it with 500 as the original's clients expect.
       */
      readonly result: string | null;
      readonly logs: string;
    }
  | { readonly outcome: Failure; readonly error: RunError; readonly logs: string };

/** The columns of a run's row that say how it ended. */
export function endColumns(end: RunEnd): Pick<RunRecord, 'status' | 'result' | 'error' | 'logs'> {
  return end.outcome === 'succeeded'
    ? { status: end.outcome, result: end.result, error: null, logs: end.logs }
    : { status: end.outcome, result: null, error: end.error, logs: end.logs };
}

/** What the runner reports for one run, before it is written to the run row. */
export type RunReport = RunEnd & {
  readonly queuedMs: number;
  readonly startedMs: number;
  readonly finishedMs: number;
  readonly scriptUrl: string | null;
  readonly scriptSha256: string | null;
};

export interface RunStats {
  readonly counts: Readonly<Record<RunOutcome | 'running', number>>;
  readonly lastRun: RunRecord | null;
  /** Failed or timed-out finished runs since the last success. */
  readonly consecutiveFailures: number;
}
