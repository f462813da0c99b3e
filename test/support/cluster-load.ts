// A steady load on a cluster of real replicas (tasks at a 1 s interval, some of whose runs take a few
// hundred ms), and what the run rows say afterwards: missed slots, slots run twice, runs lost at a kill.
// Shared by the failover tests and the cluster benchmark.

import { executionsBySlot, REPORTING_SCRIPT, type FetchRecorder, type Ran } from '../../bench/support/fetch-recorder.js';
import type { ScratchDatabase } from './scratch-database.js';

/**
 * Reports that it ran (to the recorder, from outside Director: an execution without a run row would
 * show there), waits `config.waitMs` (so that runs are in flight when a replica dies), returns its slot.
 */
export const LOAD_SCRIPT = REPORTING_SCRIPT.replace('await reportRun(config, context);', 'await reportRun(config, context); if (config.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, config.waitMs));');

export interface LoadTask {
  readonly id: string;
  readonly initMs: number;
  readonly intervalMs: number;
  /** How long its script waits: 0, or 200–450 ms for every `slowEvery`-th task. */
  readonly waitMs: number;
}

/**
 * Slots spread evenly over the interval from `baseMs`. Only every `slowEvery`-th task waits: an executor
 * runs one script at a time, so 300 waiting scripts a second would need a hundred executors.
 */
export function loadTasks(options: { readonly count: number; readonly intervalMs: number; readonly baseMs: number; readonly slowEvery: number; readonly prefix?: string }): LoadTask[] {
  const { count, intervalMs, baseMs, slowEvery } = options;
  return Array.from({ length: count }, (_, i) => ({
    id: `${options.prefix ?? 'f'}${i}`,
    initMs: baseMs + Math.floor((i * intervalMs) / count),
    intervalMs,
    waitMs: i % slowEvery === 0 ? 200 + ((i * 37) % 250) : 0,
  }));
}

/**
 * Creates the tasks through one replica's API, eight requests at a time. `overlap` is the tasks' policy
 * (default `skip`, Director's own default).
 */
export async function createLoadTasks(
  baseUrl: string,
  tasks: readonly LoadTask[],
  recorder: Pick<FetchRecorder, 'scriptUrl' | 'ranUrl'>,
  options: { readonly overlap?: 'skip' | 'allow' } = {},
): Promise<void> {
  const overlap = options.overlap === undefined ? {} : { overlap: options.overlap };
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as LoadTask;
      const body = { id: task.id, script: recorder.scriptUrl(task.id), running: true, init: task.initMs, interval: task.intervalMs, ...overlap, config: { waitMs: task.waitMs, ranUrl: recorder.ranUrl(task.id) } };
      const response = await fetch(`${baseUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (response.status !== 200) throw new Error(`creating ${task.id}: ${response.status} ${await response.text()}`);
    }
  }));
}

export interface SlotRow {
  readonly taskId: string;
  readonly slotMs: number;
  readonly status: string;
  readonly owner: string;
  readonly finishedMs: number | null;
  /** `name` of the run's error: SessionEnded, LeaseExpired, Skipped, … */
  readonly errorName: string | null;
  /** The start of the error's message (why a slot was skipped). */
  readonly errorMessage: string | null;
}

/** First attempts of scheduled slots (the tasks here have no retries). */
export async function slotRows(db: Pick<ScratchDatabase, 'query'>): Promise<SlotRow[]> {
  const rows = await db.query<{ task_id: string; slot_ms: string; status: string; owner: string; finished_ms: string | null; error_name: string | null; error_message: string | null }>(
    "SELECT task_id, slot_ms, status, owner, finished_ms, error::json->>'name' AS error_name, left(COALESCE(error::json->>'message', logs), 70) AS error_message FROM runs WHERE attempt = 1 AND slot_ms IS NOT NULL",
  );
  return rows.map((r) => ({
    taskId: r.task_id, slotMs: Number(r.slot_ms), status: r.status, owner: r.owner,
    finishedMs: r.finished_ms === null ? null : Number(r.finished_ms), errorName: r.error_name, errorMessage: r.error_message,
  }));
}

export interface SlotAudit {
  /** Slots of every task in the window. */
  readonly expected: number;
  /** Slots without a succeeded run (no row, skipped or lost), as `task@slot`. */
  readonly missed: readonly string[];
  /** The longest run of consecutive missed slots of one task, and which task. */
  readonly worstStreak: { readonly taskId: string; readonly slots: number };
  /** Slots that ran twice: two rows that are not skipped, or two reports from the script itself. */
  readonly doubled: readonly string[];
}

/**
 * Slots in [fromMs, toMs) of every task. A slot ran twice if it has two rows that are not skipped (the
 * unique claim key makes that impossible) or if its script reported two executions — each execution
 * reports itself, so a second one shows up there even without a row.
 */
export function auditSlots(tasks: readonly LoadTask[], rows: readonly SlotRow[], ran: readonly Pick<Ran, 'taskId' | 'slot'>[], fromMs: number, toMs: number): SlotAudit {
  const byKey = new Map<string, SlotRow[]>();
  for (const row of rows) byKey.set(`${row.taskId}@${row.slotMs}`, [...(byKey.get(`${row.taskId}@${row.slotMs}`) ?? []), row]);
  const executions = executionsBySlot(ran);
  const missed: string[] = [];
  const doubled: string[] = [];
  let expected = 0;
  let worstStreak = { taskId: '', slots: 0 };
  for (const [key, count] of executions) if (count > 1) doubled.push(`${key}: ran ${count} times`);
  for (const task of tasks) {
    let streak = 0;
    const first = task.initMs + Math.max(0, Math.ceil((fromMs - task.initMs) / task.intervalMs)) * task.intervalMs;
    for (let slot = first; slot < toMs; slot += task.intervalMs) {
      expected += 1;
      const list = byKey.get(`${task.id}@${slot}`) ?? [];
      if (list.filter((r) => r.status !== 'skipped').length > 1) doubled.push(`${task.id}@${slot}`);
      if (list.some((r) => r.status === 'succeeded')) {
        streak = 0;
        continue;
      }
      missed.push(`${task.id}@${slot}:${list.map((r) => r.status).join('+') || 'none'}`);
      streak += 1;
      if (streak > worstStreak.slots) worstStreak = { taskId: task.id, slots: streak };
    }
  }
  return { expected, missed, worstStreak, doubled };
}

export interface KillAudit {
  /** The killed replica's runs recorded lost. */
  readonly lost: number;
  /** Lost by the session check (SessionEnded) rather than by lease expiry. */
  readonly lostBySession: number;
  /** Its runs not finished before the kill that are not recorded lost (should be none). */
  readonly notLost: readonly string[];
  /** From the kill to the last of its runs declared lost, ms (undefined when it had none in flight). */
  readonly detectMs: number | undefined;
}

/**
 * What became of the killed replica's runs. It can write nothing after the kill, so every one of its
 * runs either finished before `killedAtMs` (a few ms of tolerance for clock reads) or must be lost.
 */
export function auditKill(rows: readonly SlotRow[], victim: string, killedAtMs: number): KillAudit {
  const mine = rows.filter((r) => r.owner === victim);
  const lost = mine.filter((r) => r.status === 'lost');
  const notLost = mine
    .filter((r) => r.status !== 'lost' && (r.finishedMs === null || r.finishedMs > killedAtMs + 20))
    .map((r) => `${r.taskId}@${r.slotMs}:${r.status}`);
  const detected = lost.map((r) => (r.finishedMs ?? Number.POSITIVE_INFINITY) - killedAtMs);
  return {
    lost: lost.length,
    lostBySession: lost.filter((r) => r.errorName === 'SessionEnded').length,
    notLost,
    detectMs: detected.length === 0 ? undefined : Math.max(...detected),
  };
}

/** Missed slots whose instant lies in [fromMs, toMs), from an audit's `task@slot:…` entries. */
export function missedBetween(audit: SlotAudit, fromMs: number, toMs: number): number {
  return audit.missed.filter((entry) => {
    const slot = Number(/@(\d+):/.exec(entry)?.[1]);
    return slot >= fromMs && slot < toMs;
  }).length;
}

/** Slots in [fromMs, toMs) that did not succeed, counted by what their rows say (status, error, skip reason). */
export function notSucceededReasons(rows: readonly SlotRow[], fromMs: number, toMs: number): string {
  const why = new Map<string, number>();
  for (const row of rows) {
    if (row.status === 'succeeded' || row.slotMs < fromMs || row.slotMs >= toMs) continue;
    const key = `${row.status} ${row.errorName ?? ''}: ${(row.errorMessage ?? '').replace(/\d+/g, 'N')}`;
    why.set(key, (why.get(key) ?? 0) + 1);
  }
  return [...why].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${n}× ${key}`).join('\n') || 'none';
}
