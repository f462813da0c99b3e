// A fresh PostgreSQL database per cluster test, and what the tests read from it and from the scripts' reports.

import { createScratchDatabase, withClient, type ScratchDatabase } from './scratch-database.js';

export const serverUrl = process.env.DIRECTOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type ClusterDatabase = ScratchDatabase;

/** CREATE DATABASE director_<label>_<random> on the test server; drop() removes it (and its sessions). */
export function createClusterDatabase(label: string): Promise<ClusterDatabase> {
  return createScratchDatabase(serverUrl, `director_${label}`);
}

/** Runs a statement on the test server itself (roles are server-wide, not in the test's database). */
export async function onServer(text: string): Promise<void> {
  await withClient(serverUrl, (client) => client.query(text));
}

/** Terminates every session of one replica (its pool and its change watch), as a network cut would. */
export async function terminateSessions(db: ClusterDatabase, instanceId: string): Promise<number> {
  // In the select list, not the WHERE clause: a qualifier may be evaluated before the others, on any row.
  const rows = await db.query<{ done: boolean }>('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1', [instanceId]);
  return rows.filter((r) => r.done).length;
}

export interface RunRow {
  readonly task_id: string;
  readonly slot_ms: number;
  readonly status: string;
  readonly owner: string;
  /** Why a skipped slot was skipped (its logs say it), else null. */
  readonly reason: string | null;
}

export async function scheduledRuns(db: ClusterDatabase): Promise<RunRow[]> {
  const rows = await db.query<{ task_id: string; slot_ms: string; status: string; owner: string; reason: string | null }>(
    "SELECT task_id, slot_ms, status, owner, CASE WHEN status = 'skipped' THEN logs END AS reason FROM runs WHERE attempt = 1 AND slot_ms IS NOT NULL",
  );
  return rows.map((r) => ({ ...r, slot_ms: Number(r.slot_ms) }));
}

/** Slots of a task with init `initMs` and interval `intervalMs` in [fromMs, toMs). */
export function slotsBetween(initMs: number, intervalMs: number, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let slot = initMs + Math.max(0, Math.ceil((fromMs - initMs) / intervalMs)) * intervalMs; slot < toMs; slot += intervalMs) out.push(slot);
  return out;
}

/**
 * The cluster tests run hundreds of distinct tasks a second on replicas sharing two cores: what they
 * check is claims, failover and hand-over, which no script policy changes. Under strict each of those
 * tasks would first need a worker thread of its own (~50 ms of CPU each, see docs/architecture.md), a
 * warm-up cost the execution benchmarks measure; trusted runs them in the executors' shared loop.
 */
export const CLUSTER_TEST_POLICY = 'trusted';
