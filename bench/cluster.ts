// Cluster benchmark: three Director processes (dist/) on one fresh PostgreSQL database share 10,000 tasks.
// Lateness = fetch arrival − slot per (task, slot), as in the scheduler benchmark; runs per replica and
// their start lateness come from the run rows. Run: npm run bench -- --only cluster [--seconds 60]

import { randomBytes } from 'node:crypto';
import { startDirector, type DirectorProcess, type ProcessSample } from './support/director-process.js';
import { startFetchRecorder } from './support/fetch-recorder.js';
import { jsonClient } from './support/http-client.js';
import { createBenchDatabase, postgresCpuMs, type BenchDatabase } from './support/postgres-database.js';
import { round, type BenchOptions, type BenchResult, type BenchScenario } from './support/scenario.js';
import { slotFigures, type RunRowLateness } from './support/slot-figures.js';
import { slotReport, type BenchTask } from './support/slot-report.js';

const REPLICAS = 3;
/** main() returns when it started, on this machine's clock: start lateness without a second request. */
const START_STAMP_SCRIPT = 'module.exports.main = () => Date.now();';
const FAR_END = '2100-01-01T00:00:00.000Z';
/**
 * Measuring starts once every task has run once (one interval after the first slot) and a little more:
 * executors are warm and each task's preferred replica has won it (the first slots are a free-for-all).
 */
const SETTLE_MS = 2000;

const DRAIN_MS = 3000;

interface ClusterScenario {
  readonly count: number;
  readonly intervalMs: number;
  readonly initOf: (i: number, baseMs: number) => number;
}

const sleepUntil = (atMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, atMs - Date.now())));

function cpu(from: ProcessSample, to: ProcessSample, key: 'cpuMs' | 'treeCpuMs'): number {
  return round((100 * (to[key] - from[key])) / Math.max(1, to.atMs - from.atMs));
}

/** Tasks are created through the replicas in turn: each write reaches the other two by notification. */
async function createTasks(replicas: readonly DirectorProcess[], tasks: readonly BenchTask[], scriptUrl: (id: string) => string): Promise<void> {
  const clients = replicas.map((r) => jsonClient(r.url));
  try {
    await Promise.all(clients.map((client, k) => {
      const mine = tasks.filter((_, i) => i % clients.length === k);
      return client.many(mine.length, 8, (i) => {
        const t = mine[i] as BenchTask;
        return { method: 'POST', path: '/api/v1/tasks', body: { id: t.id, script: scriptUrl(t.id), running: true, init: t.initMs, interval: t.intervalMs, end: FAR_END } };
      });
    }));
  } finally {
    for (const client of clients) client.close();
  }
}

async function measureCluster(scenario: ClusterScenario, options: BenchOptions): Promise<BenchResult> {
  const db = await createBenchDatabase('cluster');
  const recorder = await startFetchRecorder(START_STAMP_SCRIPT);
  const suffix = randomBytes(2).toString('hex');
  const ids = Array.from({ length: REPLICAS }, (_, k) => `bench-${k + 1}-${suffix}`);
  const replicas: DirectorProcess[] = [];
  try {
    replicas.push(...await Promise.all(ids.map((id) => startDirector({ DIRECTOR_DATABASE_URL: db.url, DIRECTOR_INSTANCE_ID: id, DIRECTOR_ASSETS_URL: recorder.url }))));
    // The first slot comes after creation (measured here at ~1,000 tasks/s through the three APIs).
    const base = Math.ceil((Date.now() + 5000 + scenario.count * 1.5) / scenario.intervalMs) * scenario.intervalMs;
    const tasks: BenchTask[] = Array.from({ length: scenario.count }, (_, i) => ({ id: `c${i}`, initMs: scenario.initOf(i, base), intervalMs: scenario.intervalMs }));
    const createStarted = Date.now();
    await createTasks(replicas, tasks, recorder.scriptUrl);
    const createMs = Date.now() - createStarted;
    if (Date.now() > base) throw new Error(`creating ${scenario.count} tasks took ${createMs} ms, past the first slot`);
    const fromMs = base + scenario.intervalMs + SETTLE_MS;
    const toMs = fromMs + options.seconds * 1000;
    await sleepUntil(fromMs);
    const first = replicas.map((r) => r.sample());
    const pgFirst = { atMs: Date.now(), cpuMs: postgresCpuMs() };
    await sleepUntil(toMs);
    const last = replicas.map((r) => r.sample());
    const pgLast = { atMs: Date.now(), cpuMs: postgresCpuMs() };
    await sleepUntil(toMs + DRAIN_MS);
    const report = slotReport(tasks, recorder.fetches, fromMs, toMs);
    const rows = await runRows(db, fromMs, toMs);
    const perReplica = ids.map((id) => rows.owners.get(id) ?? 0);
    return {
      replicas: REPLICAS,
      tasks: scenario.count,
      'interval (s)': scenario.intervalMs / 1000,
      'window (s)': options.seconds,
      'create through the 3 APIs (s)': round(createMs / 1000),
      ...slotFigures(report, rows),
      'succeeded runs per replica': perReplica.join(' / '),
      'runs per replica (% of succeeded runs)': perReplica.map((n) => round((100 * n) / Math.max(1, perReplica.reduce((a, b) => a + b, 0)))).join(' / '),
      'Director CPU per replica (% of one core)': first.map((f, k) => cpu(f, last[k] as ProcessSample, 'cpuMs')).join(' / '),
      'Director + executors CPU per replica (% of one core)': first.map((f, k) => cpu(f, last[k] as ProcessSample, 'treeCpuMs')).join(' / '),
      'PostgreSQL CPU (% of one core)': round((100 * (pgLast.cpuMs - pgFirst.cpuMs)) / Math.max(1, pgLast.atMs - pgFirst.atMs)),
      'Director RSS at end per replica (MB)': last.map((s) => round(s.rssBytes / 2 ** 20)).join(' / '),
      'warnings logged': replicas.reduce((n, r) => n + r.problems.length, 0),
    };
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    for (const line of replicas.flatMap((r) => r.problems).slice(0, 5)) process.stderr.write(`  Director: ${line.slice(0, 400)}\n`);
    await recorder.close();
    // BENCH_KEEP_DATA=1 keeps the database for a closer look at the run rows.
    if (process.env.BENCH_KEEP_DATA === undefined) await db.drop();
    else process.stderr.write(`  database kept: ${db.url}\n`);
  }
}

interface RunRows extends RunRowLateness {
  readonly owners: Map<string, number>;
}

/** Hand-over lateness (the runner took the run − slot), start lateness (main() ran − slot), owners. */
async function runRows(db: BenchDatabase, fromMs: number, toMs: number): Promise<RunRows> {
  const window = [fromMs, toMs];
  const inWindow = 'attempt = 1 AND slot_ms >= $1 AND slot_ms < $2';
  const handOver = await db.query<{ ms: number }>(`SELECT lateness_ms::float8 AS ms FROM runs WHERE ${inWindow} AND status NOT IN ('running', 'skipped') AND lateness_ms IS NOT NULL ORDER BY 1`, window);
  const start = await db.query<{ ms: number }>(`SELECT (result::bigint - slot_ms)::float8 AS ms FROM runs WHERE ${inWindow} AND status = 'succeeded' ORDER BY 1`, window);
  const statuses = await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM runs WHERE ${inWindow} GROUP BY 1 ORDER BY 1`, window);
  const owners = await db.query<{ owner: string; n: number }>(`SELECT owner, count(*)::int AS n FROM runs WHERE ${inWindow} AND status = 'succeeded' GROUP BY 1`, window);
  const [succeeded] = await db.query<{ n: number }>(`SELECT count(DISTINCT (task_id, slot_ms))::int AS n FROM runs WHERE ${inWindow} AND status = 'succeeded'`, window);
  const [doubled] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM runs WHERE status <> 'skipped' AND slot_ms >= $1 AND slot_ms < $2 GROUP BY task_id, slot_ms, attempt HAVING count(*) > 1) d`, window);
  return {
    handOver: handOver.map((r) => r.ms),
    start: start.map((r) => r.ms),
    statuses: statuses.map((r) => `${r.status} ${r.n}`).join(', '),
    owners: new Map(owners.map((r) => [r.owner, r.n])),
    succeededSlots: succeeded?.n ?? 0,
    doubledSlots: doubled?.n ?? 0,
  };
}

export const scenarios: readonly BenchScenario[] = [
  {
    name: 'cluster:3x10000',
    description: '3 replicas on one PostgreSQL, 10,000 tasks, interval 10 s, slots 1 ms apart (1,000 runs/s); target p99 ≤ 50 ms, 0 missed, 0 duplicates',
    run: (options) => measureCluster({ count: 10_000, intervalMs: 10_000, initOf: (i, base) => base + i }, options),
  },
  {
    // Half the load: at 1,000 runs/s the executors of this 2-core machine fall behind (as with one Director).
    name: 'cluster:3x5000',
    description: '3 replicas on one PostgreSQL, 5,000 tasks, interval 10 s, slots 2 ms apart (500 runs/s)',
    run: (options) => measureCluster({ count: 5000, intervalMs: 10_000, initOf: (i, base) => base + 2 * i }, options),
  },
];
