// What the dashboard reads from a stored task document, with the server's own parsing rules.

import type { CronSpec } from '../../domain/cron-schedule.js';
import { parseCronSchedule } from '../../domain/parse-cron-schedule.js';
import { nextSlot } from '../../domain/schedule.js';
import { parseDate, parseInterval, parseRunning } from '../../domain/task.js';
import { intervalInWords } from './format.js';

/** A task as GET /api/v1/tasks answers it: the client's JSON verbatim, with its id. */
export type TaskDoc = Record<string, unknown> & { readonly id: string };

/** GET /api/v1/tasks/{id}/status */
export interface TaskStatus {
  readonly id: string;
  readonly running: boolean;
  readonly nextExecution: string | null;
  readonly onDemand: boolean;
  readonly ended: boolean;
  readonly interval: number | null;
  readonly cron?: string | null;
  readonly timezone?: string | null;
  readonly lastRun: null | {
    readonly id: number;
    readonly slot: number | null;
    readonly trigger: string;
    readonly status: string;
    readonly startedAt: string | null;
    readonly finishedAt: string | null;
    readonly durationMs: number | null;
    readonly latenessMs: number | null;
    readonly queueWaitMs: number | null;
  };
  readonly runs: Readonly<Record<string, number>>;
  readonly consecutiveFailures: number;
}

/** A run as /runs and /runs/{runId} answer it (result, error and logs only in the latter for sure). */
export interface RunView {
  readonly id: number;
  readonly taskId: string;
  readonly slot: number | null;
  readonly attempt: number;
  readonly trigger: string;
  /** The backfill a `backfill` run belongs to; null (or absent, from older servers) otherwise. */
  readonly backfillId?: number | null;
  readonly status: string;
  readonly startedMs: number | null;
  readonly finishedMs: number | null;
  readonly durationMs: number | null;
  readonly latenessMs: number | null;
  /** From queued to main() entered. */
  readonly queueWaitMs: number | null;
  readonly result?: unknown;
  readonly error?: { readonly stage: string; readonly name: string; readonly message: string; readonly stack?: string } | null;
  readonly logs?: string | null;
}

/** The trigger in words: "schedule", "manual", "backfill #3", with the attempt when it is a re-run. */
export function triggerLabel(run: Pick<RunView, 'trigger' | 'backfillId' | 'attempt'>): string {
  const trigger = run.trigger === 'backfill' && typeof run.backfillId === 'number' ? `backfill #${run.backfillId}` : run.trigger;
  return run.attempt > 1 ? `${trigger} (attempt ${run.attempt})` : trigger;
}

function quietly<T>(parse: () => T, fallback: T): T {
  try {
    return parse();
  } catch {
    return fallback;
  }
}

export function isRunning(doc: TaskDoc): boolean {
  return quietly(() => parseRunning(doc.running), false);
}

export function intervalOf(doc: TaskDoc): number | null {
  return quietly(() => parseInterval(doc.interval), null);
}

/** The task's cron schedule (expression and zone), or null. */
export function cronOf(doc: TaskDoc): CronSpec | null {
  return quietly(() => parseCronSchedule(doc, null), null);
}

/** True when the task has slots: an interval or a cron (else it is on demand). */
export function hasSchedule(doc: TaskDoc): boolean {
  return intervalOf(doc) !== null || cronOf(doc) !== null;
}

/** "every 1 h", "cron 0 3 * * * (Europe/Madrid)" or "on demand". */
export function scheduleInWords(doc: TaskDoc): string {
  const cron = cronOf(doc);
  return cron === null ? intervalInWords(intervalOf(doc)) : `cron ${cron.expression} (${cron.timezone})`;
}

/** The schedule the server runs, in words: also right when the script's sibling JSON gave it, which the document lacks. */
export function statusScheduleInWords(status: Pick<TaskStatus, 'interval' | 'cron' | 'timezone'>): string {
  return status.cron ? `cron ${status.cron} (${status.timezone ?? 'UTC'})` : intervalInWords(status.interval);
}

export function scriptOf(doc: TaskDoc): string {
  return typeof doc.script === 'string' ? doc.script : '';
}

/** Tags: `tags` as an array of strings or a comma-separated string. */
export function tagsOf(doc: TaskDoc): string[] {
  const tags = doc.tags;
  if (Array.isArray(tags)) return tags.filter((t): t is string => typeof t === 'string' && t.trim() !== '').map((t) => t.trim());
  if (typeof tags === 'string') return tags.split(',').map((t) => t.trim()).filter((t) => t !== '');
  return [];
}

/**
 * The next slot as arithmetic gives it, for sorting all tasks without asking the server about each.
 * Undefined for a stopped or on-demand task, and for one without `init` (its anchor, the creation
 * time, is not in the document): /status of the visible rows gives the scheduler's answer.
 */
export function estimatedNextRun(doc: TaskDoc, now: number): number | undefined {
  if (!isRunning(doc)) return undefined;
  const intervalMs = intervalOf(doc);
  const cron = cronOf(doc);
  const endMs = quietly(() => parseDate(doc.end, 'end'), null);
  // A cron task's init only bounds it: without one (creation, in the past) the next instant is after now.
  const initMs = quietly(() => parseDate(doc.init, 'init'), null) ?? (cron !== null ? now : null);
  if (initMs === null) return undefined;
  if (cron !== null) return nextSlot({ initMs, endMs, intervalMs: null, cron }, now);
  if (intervalMs === null) return undefined;
  return nextSlot({ initMs, endMs, intervalMs }, now);
}

/** `backfill`: ask for a backfill, and cancel one. */
export type Action = 'start' | 'stop' | 'run' | 'backfill' | 'create' | 'edit' | 'delete' | 'test';
export type Role = 'viewer' | 'operator' | 'admin';

const ALLOWED: Readonly<Record<Role, readonly Action[]>> = {
  viewer: [],
  operator: ['start', 'stop', 'run', 'backfill'],
  admin: ['start', 'stop', 'run', 'backfill', 'create', 'edit', 'delete', 'test'],
};

export function allows(role: Role, action: Action): boolean {
  return ALLOWED[role].includes(action);
}

export const OUTCOME_LABEL: Readonly<Record<string, string>> = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  timed_out: 'Timed out',
  skipped: 'Skipped',
  lost: 'Lost',
  running: 'Running',
};
