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
import { round, type BenchOptions, type BenchResult, type BenchScenario } from './support/scenario.js';
import { slotFigures, type RunRowLateness } from './support/slot-figures.js';
import { slotReport, type BenchTask } from './support/slot-report.js';

const FAR_END = '2100-01-01T00:00:00.000Z';
/** Runs of slots near the window's end may still be on their way. */
const DRAIN_MS = 3000;
const SETTLE_MS = 2000;
/**
 * Tasks created through the API get their first slot after the creation is expected to be over
 * (Director's start plus 0.5 ms per task, the pace measured here, rounded up to the interval):
 * otherwise the window would measure a backlog left by 10,000 POSTs competing with the first runs,
 * not the scheduler in steady state. The report says by how much creation and slots still overlapped.
 */
const createBudgetMs = (count: number): number => 1000 + count / 2;

interface SlotScenario {
  readonly count: number;
  readonly intervalMs: number;
  /** init of task i, given a base instant. */
  readonly initOf: (i: number, baseMs: number) => number;
  /** `api`: POST each task to the running Director; `store`: write them to its database before it starts. */
  readonly create: 'api' | 'store';
  /** The script every task runs (default: return Date.now() at main()'s start). */
  readonly script?: string;
  /** Director settings of the scenario (e.g. the script policy), over the benchmark's own DIRECTOR_* ones. */
  readonly env?: Readonly<Record<string, string>>;
  /** The measured window, when the scenario fixes it (else --seconds). */
  readonly windowSeconds?: number;
  /** After the window: DELETE every task through the API and count the fetches that began after the answer. */
  readonly deleteAfter?: boolean;
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
 * The bench script returns Date.now() taken inside main(): the instant the executor really started the
 * run, on the same machine clock as the slot. Fetch lateness shows when Director asked for the script;
 * start lateness adds waiting for a free executor, which is what a script's author experiences.
 */
export const START_STAMP_SCRIPT = 'module.exports.main = () => Date.now();';

interface RunRows extends RunRowLateness {
  /** The most frequent reasons of runs that did not succeed, with their counts. */
  readonly failures: readonly string[];
}

/**
 * The run rows' own lateness is main() entered − slot as the executor reported it; the benchmark's own
 * stamp (the script returns Date.now() at its start) checks it from outside.
 */
function runRows(dataDir: string, fromMs: number, toMs: number): RunRows {
  const db = new Database(path.join(dataDir, 'director.sqlite'), { readonly: true });
  try {
    const inWindow = 'attempt = 1 AND slot_ms >= ? AND slot_ms < ?';
    const finished = `status <> 'running' AND status <> 'skipped' AND ${inWindow}`;
    const handOver = db.prepare(`SELECT lateness_ms FROM runs WHERE ${finished} AND lateness_ms IS NOT NULL ORDER BY lateness_ms`).pluck().all(fromMs, toMs) as number[];
    const start = db.prepare(`SELECT CAST(result AS INTEGER) - slot_ms AS late FROM runs WHERE status = 'succeeded' AND ${inWindow} ORDER BY late`).pluck().all(fromMs, toMs) as number[];
    const counts = db.prepare(`SELECT status || ' ' || COUNT(*) FROM runs WHERE ${inWindow} GROUP BY status`).pluck().all(fromMs, toMs) as string[];
    const succeededSlots = db.prepare(`SELECT COUNT(DISTINCT task_id || '@' || slot_ms) FROM runs WHERE status = 'succeeded' AND ${inWindow}`).pluck().get(fromMs, toMs) as number;
    const doubledSlots = db.prepare(`SELECT COUNT(*) FROM (SELECT 1 FROM runs WHERE status <> 'skipped' AND slot_ms >= ? AND slot_ms < ? GROUP BY task_id, slot_ms, attempt HAVING COUNT(*) > 1)`).pluck().get(fromMs, toMs) as number;
    const failures = db.prepare(`
      SELECT COUNT(*) || '× ' || status || ' [' || COALESCE(json_extract(error, '$.stage'), '?') || '] ' || COALESCE(json_extract(error, '$.name'), '') || ': ' || substr(COALESCE(json_extract(error, '$.message'), ''), 1, 200)
      FROM runs WHERE status IN ('failed', 'timed_out', 'lost') AND ${inWindow}
      GROUP BY status, json_extract(error, '$.stage'), json_extract(error, '$.name'), json_extract(error, '$.message') ORDER BY COUNT(*) DESC LIMIT 3`).pluck().all(fromMs, toMs) as string[];
    return { handOver, start, statuses: counts.join(', '), failures, succeededSlots, doubledSlots };
  } finally {
    db.close();
  }
}

function cpuPercent(from: ProcessSample, to: ProcessSample, key: 'cpuMs' | 'treeCpuMs'): number {
  return round((100 * (to[key] - from[key])) / Math.max(1, to.atMs - from.atMs));
}

/**
 * CPU used by processes that are neither Director (with its executors) nor this benchmark: on a small
 * shared machine another job's load shows up as lateness, so a result is only as good as this is low.
 */
function otherCpuPercent(from: ProcessSample, to: ProcessSample): number {
  const other = (to.machineCpuMs - from.machineCpuMs) - (to.treeCpuMs - from.treeCpuMs) - (to.benchCpuMs - from.benchCpuMs);
  return round((100 * Math.max(0, other)) / Math.max(1, to.atMs - from.atMs));
}

/** Deletes every task (16 at a time) and counts fetches that began after its DELETE was answered. */
async function deleteAll(director: DirectorProcess, tasks: readonly BenchTask[], recorder: FetchRecorder): Promise<number> {
  const client = jsonClient(director.url);
  const answeredAt = new Map<string, number>();
  try {
    await client.many(tasks.length, 16, (i) => {
      const id = (tasks[i] as BenchTask).id;
      return { method: 'DELETE', path: `/api/v1/tasks/${id}`, onAnswer: () => answeredAt.set(id, Date.now()) };
    });
  } finally {
    client.close();
  }
  // A fetch already on its way when the DELETE was answered may land a moment later: a begun fetch is
  // allowed; what counts is one that began afterwards, with nothing claimed left to run.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return recorder.fetches.filter((fetch) => {
    const deleted = answeredAt.get(fetch.taskId);
    return deleted !== undefined && fetch.atMs > deleted + 5;
  }).length;
}

async function measureSlots(scenario: SlotScenario, options: BenchOptions): Promise<BenchResult> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'director-bench-scheduler-'));
  const recorder = await startFetchRecorder(scenario.script ?? START_STAMP_SCRIPT);
  const seconds = scenario.windowSeconds ?? options.seconds;
  const earliest = Date.now() + (scenario.create === 'api' ? createBudgetMs(scenario.count) : 0);
  const base = Math.ceil(earliest / scenario.intervalMs) * scenario.intervalMs;
  const tasks: BenchTask[] = Array.from({ length: scenario.count }, (_, i) => ({ id: `bench-${i}`, initMs: scenario.initOf(i, base), intervalMs: scenario.intervalMs }));
  let director: DirectorProcess | undefined;
  try {
    if (scenario.create === 'store') await fillStore(dataDir, tasks, recorder);
    // BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles Director's own process.
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    // DIRECTOR_* variables of the benchmark's environment apply (e.g. DIRECTOR_EXECUTORS=4), as in bench/runner.ts.
    const settings = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('DIRECTOR_') && e[1] !== undefined));
    director = await startDirector({ ...settings, ...scenario.env, DIRECTOR_DATA_DIR: dataDir, DIRECTOR_ASSETS_URL: recorder.url }, nodeArgs);
    const createStarted = Date.now();
    if (scenario.create === 'api') await createThroughApi(director, tasks, recorder);
    const createMs = Date.now() - createStarted;
    const createdAt = Date.now();
    const fromMs = Math.max(createdAt + SETTLE_MS, scenario.create === 'api' ? base : 0);
    const toMs = fromMs + seconds * 1000;
    await sleepUntil(fromMs);
    const first = director.sample();
    // Director's and its executors' memory, sampled through the window and its drain.
    let treeRssPeak = first.treeRssBytes;
    const rssTimer = setInterval(() => {
      treeRssPeak = Math.max(treeRssPeak, (director as DirectorProcess).sample().treeRssBytes);
    }, 250);
    await sleepUntil(toMs);
    const last = director.sample();
    await sleepUntil(toMs + DRAIN_MS);
    clearInterval(rssTimer);
    const peak = director.sample();
    const fetchesAfterDelete = scenario.deleteAfter === true ? await deleteAll(director, tasks, recorder) : undefined;
    const report = slotReport(tasks, recorder.fetches, fromMs, toMs);
    await director.stop();
    const rows = runRows(dataDir, fromMs, toMs);
    const planned = director.logged(/scheduler started/);
    const plannedMs = planned === undefined ? undefined : /in (\d+) ms/.exec(planned)?.[1];
    return {
      tasks: scenario.count,
      'interval (s)': scenario.intervalMs / 1000,
      'window (s)': seconds,
      ...(scenario.create === 'api' ? { 'create through API (s)': round(createMs / 1000), 'first slot after creation ended (s; < 0: overlapped)': round((base - createdAt) / 1000) } : {}),
      'Director start → listening (ms)': Math.round(director.startMs),
      ...(plannedMs === undefined ? {} : { 'scheduler start-up planning (ms)': Number(plannedMs) }),
      ...slotFigures(report, rows),
      ...Object.fromEntries(rows.failures.map((line, i) => [`not succeeded, reason ${i + 1}`, line])),
      'Director CPU (% of one core)': cpuPercent(first, last, 'cpuMs'),
      'Director + executors CPU (% of one core)': cpuPercent(first, last, 'treeCpuMs'),
      'other processes CPU (% of one core; noise)': otherCpuPercent(first, last),
      'Director RSS at end (MB)': round(peak.rssBytes / 2 ** 20),
      'Director peak RSS (MB)': round(peak.peakRssBytes / 2 ** 20),
      'Director + executors peak RSS (MB, sampled every 250 ms)': round(Math.max(treeRssPeak, peak.treeRssBytes) / 2 ** 20),
      ...(fetchesAfterDelete === undefined ? {} : { 'fetches begun after DELETE was answered': fetchesAfterDelete }),
      'warnings logged': director.problems.length,
    };
  } finally {
    if (director !== undefined) {
      await director.stop();
      for (const line of director.problems.slice(0, 5)) process.stderr.write(`  Director: ${line.slice(0, 400)}\n`);
    }
    await recorder.close();
    // BENCH_KEEP_DATA=1 keeps the database for a closer look at the run rows.
    if (process.env.BENCH_KEEP_DATA === undefined) rmSync(dataDir, { recursive: true, force: true });
    else process.stderr.write(`  data kept in ${dataDir}\n`);
  }
}

/** Awaits 5 s after main() starts, as Governify's scripts await their HTTP calls; returns the start instant. */
const IO_BOUND_SCRIPT = 'module.exports.main = async () => { const entered = Date.now(); await new Promise((r) => setTimeout(r, 5000)); return entered; };';

const POLICIES = ['strict', 'trusted'] as const;

/** The execution issue's figures: the same slot measurement, with scripts that wait and both policies. */
export const executionScenarios: readonly BenchScenario[] = [
  ...POLICIES.map((policy): BenchScenario => ({
    name: `execution:io-bound-200-${policy}`,
    description: `200 tasks share one slot, each script awaits 5 s (${policy}); target every main() entered within p99 ≤ 100 ms, RSS ≤ ${policy === 'strict' ? 2 : 1} GB`,
    run: (options) => measureSlots({ count: 200, intervalMs: 60_000, initOf: (_i, base) => base, create: 'api', script: IO_BOUND_SCRIPT, env: { DIRECTOR_SCRIPT_POLICY: policy }, windowSeconds: 1 }, options),
  })),
  ...POLICIES.map((policy): BenchScenario => ({
    name: `execution:burst-1000-${policy}`,
    description: `1,000 tasks share every slot, interval 2 s, 20 s window (${policy}), then all deleted; target p99 ≤ ${policy === 'strict' ? '712' : '250'} ms, 0 missed, 0 duplicates, no fetch after DELETE`,
    run: (options) => measureSlots({ count: 1000, intervalMs: 2000, initOf: (_i, base) => base, create: 'api', env: { DIRECTOR_SCRIPT_POLICY: policy }, windowSeconds: 20, deleteAfter: true }, options),
  })),
];

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
