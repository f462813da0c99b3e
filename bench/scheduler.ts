// Scheduler benchmark: a real Director process, tasks created through its API (or stored beforehand for
// the 100,000-task start-up), a loopback assets server that records when each task fetched its script.
// Lateness = fetch arrival − slot, per (task, slot). Run: node --import tsx bench/run.ts --only scheduler

import { mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTask } from '../src/domain/task.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { startDirector, type DirectorProcess, type ProcessSample } from './support/director-process.js';
import { startFetchRecorder, type FetchRecorder } from './support/fetch-recorder.js';
import { jsonClient } from './support/http-client.js';
import { percentile, round, type BenchOptions, type BenchResult, type BenchScenario } from './support/scenario.js';
import { slotReport, type BenchTask } from './support/slot-report.js';

const FAR_END = '2100-01-01T00:00:00.000Z';
/** Runs of slots near the window's end may still be on their way. */
const DRAIN_MS = 3000;
const SETTLE_MS = 2000;

interface SlotScenario {
  readonly count: number;
  readonly intervalMs: number;
  /** init of task i, given a base instant. */
  readonly initOf: (i: number, baseMs: number) => number;
  /** `api`: POST each task to the running Director; `store`: write them to its database before it starts. */
  readonly create: 'api' | 'store';
}

const sleepUntil = (atMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, atMs - Date.now())));

async function fillStore(dataDir: string, tasks: readonly BenchTask[], recorder: FetchRecorder): Promise<void> {
  const store = await openSqliteStore({ file: path.join(dataDir, 'director.sqlite'), synchronous: 'NORMAL' });
  const now = Date.now();
  for (const t of tasks) {
    const body = { id: t.id, script: recorder.scriptUrl(t.id), running: true, init: t.initMs, interval: t.intervalMs, end: FAR_END };
    await store.putTask(parseTask(body, { fallbackId: t.id, createdMs: now, nowMs: now }));
  }
  await store.close();
}

async function createThroughApi(director: DirectorProcess, tasks: readonly BenchTask[], recorder: FetchRecorder): Promise<void> {
  const client = jsonClient(director.url);
  try {
    await client.many(tasks.length, 16, (i) => {
      const t = tasks[i] as BenchTask;
      return { method: 'POST', path: '/api/v1/tasks', body: { id: t.id, script: recorder.scriptUrl(t.id), running: true, init: t.initMs, interval: t.intervalMs, end: FAR_END } };
    });
  } finally {
    client.close();
  }
}

/**
 * The run rows' own lateness (runner start − slot, written by Director) isolates the scheduler's part:
 * the fetch lateness adds the HTTP round trip and whatever else Director's main thread is doing.
 */
function runRows(dataDir: string, fromMs: number, toMs: number): { p50: number; p99: number; max: number; statuses: string } {
  const db = new Database(path.join(dataDir, 'director.sqlite'), { readonly: true });
  try {
    const finished = "status <> 'running' AND attempt = 1 AND slot_ms >= ? AND slot_ms < ?";
    const rows = db.prepare(`SELECT lateness_ms FROM runs WHERE ${finished} AND status <> 'skipped' AND lateness_ms IS NOT NULL ORDER BY lateness_ms`).pluck().all(fromMs, toMs) as number[];
    const counts = db.prepare("SELECT status || ' ' || COUNT(*) FROM runs WHERE attempt = 1 AND slot_ms >= ? AND slot_ms < ? GROUP BY status").pluck().all(fromMs, toMs) as string[];
    return { p50: percentile(rows, 50), p99: percentile(rows, 99), max: rows.at(-1) ?? Number.NaN, statuses: counts.join(', ') };
  } finally {
    db.close();
  }
}

function cpuPercent(from: ProcessSample, to: ProcessSample, key: 'cpuMs' | 'treeCpuMs'): number {
  return round((100 * (to[key] - from[key])) / Math.max(1, to.atMs - from.atMs));
}

async function measureSlots(scenario: SlotScenario, options: BenchOptions): Promise<BenchResult> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'director-bench-scheduler-'));
  const recorder = await startFetchRecorder();
  const base = Math.ceil(Date.now() / scenario.intervalMs) * scenario.intervalMs;
  const tasks: BenchTask[] = Array.from({ length: scenario.count }, (_, i) => ({ id: `bench-${i}`, initMs: scenario.initOf(i, base), intervalMs: scenario.intervalMs }));
  let director: DirectorProcess | undefined;
  try {
    if (scenario.create === 'store') await fillStore(dataDir, tasks, recorder);
    director = await startDirector({ DIRECTOR_DATA_DIR: dataDir, DIRECTOR_ASSETS_URL: recorder.url });
    const createStarted = Date.now();
    if (scenario.create === 'api') await createThroughApi(director, tasks, recorder);
    const createMs = Date.now() - createStarted;
    const fromMs = Date.now() + SETTLE_MS;
    const toMs = fromMs + options.seconds * 1000;
    await sleepUntil(fromMs);
    const first = director.sample();
    await sleepUntil(toMs);
    const last = director.sample();
    await sleepUntil(toMs + DRAIN_MS);
    const peak = director.sample();
    const report = slotReport(tasks, recorder.fetches, fromMs, toMs);
    await director.stop();
    const rows = runRows(dataDir, fromMs, toMs);
    const planned = director.logged(/scheduler started/);
    const plannedMs = planned === undefined ? undefined : /in (\d+) ms/.exec(planned)?.[1];
    return {
      tasks: scenario.count,
      'interval (s)': scenario.intervalMs / 1000,
      'window (s)': options.seconds,
      ...(scenario.create === 'api' ? { 'create through API (s)': round(createMs / 1000) } : {}),
      'Director start → listening (ms)': Math.round(director.startMs),
      ...(plannedMs === undefined ? {} : { 'scheduler start-up planning (ms)': Number(plannedMs) }),
      'slots expected': report.expected,
      'slots run': report.ran,
      missed: report.missed,
      duplicates: report.duplicates,
      'lateness p50 (ms)': report.p50,
      'lateness p90 (ms)': report.p90,
      'lateness p99 (ms)': report.p99,
      'lateness max (ms)': report.max,
      'hand-over lateness p50/p99/max (ms, run rows)': `${rows.p50} / ${rows.p99} / ${rows.max}`,
      'run rows in window by status': rows.statuses,
      'Director CPU (% of one core)': cpuPercent(first, last, 'cpuMs'),
      'Director + executors CPU (% of one core)': cpuPercent(first, last, 'treeCpuMs'),
      'Director RSS at end (MB)': round(peak.rssBytes / 2 ** 20),
      'Director peak RSS (MB)': round(peak.peakRssBytes / 2 ** 20),
      'warnings logged': director.problems.length,
    };
  } finally {
    if (director !== undefined) {
      await director.stop();
      for (const line of director.problems.slice(0, 5)) process.stderr.write(`  Director: ${line.slice(0, 400)}\n`);
    }
    await recorder.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const scenarios: readonly BenchScenario[] = [
  {
    name: 'scheduler:burst-1000',
    description: '1,000 tasks sharing every slot (interval 10 s); target p99 ≤ 100 ms, 0 missed, 0 duplicates',
    run: (options) => measureSlots({ count: 1000, intervalMs: 10_000, initOf: (_i, base) => base, create: 'api' }, options),
  },
  {
    name: 'scheduler:staggered-10000',
    description: '10,000 tasks, interval 10 s, slots spread 1 ms apart (1,000 runs/s); target p99 ≤ 10 ms, 0 missed, 0 duplicates',
    run: (options) => measureSlots({ count: 10_000, intervalMs: 10_000, initOf: (i, base) => base + i, create: 'api' }, options),
  },
  {
    name: 'scheduler:startup-100000',
    description: '100,000 stored running tasks (interval 1 h, spread over the hour); target start ≤ 3 s, RSS ≤ 300 MB',
    // init an hour back, so the slots of the coming window already exist (one every 36 ms).
    run: (options) => measureSlots({ count: 100_000, intervalMs: 3_600_000, initOf: (i, base) => base - 3_600_000 + Math.floor((i * 3_600_000) / 100_000), create: 'store' }, options),
  },
];
