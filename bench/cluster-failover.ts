// Cluster failover benchmark: three Director processes (dist/) share 300 tasks at a 1 s interval (every
// tenth waits 200–450 ms, so runs are in flight); one replica is SIGKILLed at a random instant and replaced,
// several times over; then every replica is restarted gracefully in turn. Reports how soon a dead
// replica's runs were declared lost and how many slots each kill and the rolling restart cost.
// Run: npm run bench -- --only cluster:failover (or --only cluster for every cluster scenario)

import { randomBytes } from 'node:crypto';
import { CLUSTER_TEST_POLICY } from '../test/support/cluster-db.js';
import { auditKill, auditSlots, createLoadTasks, LOAD_SCRIPT, loadTasks, missedBetween, slotRows, type LoadTask } from '../test/support/cluster-load.js';
import { startDirector, type DirectorProcess } from './support/director-process.js';
import { startFetchRecorder, type FetchRecorder } from './support/fetch-recorder.js';
import { createBenchDatabase, type BenchDatabase } from './support/postgres-database.js';
import { percentile, round, type BenchOptions, type BenchResult, type BenchScenario } from './support/scenario.js';

const TASKS = 300;
const INTERVAL_MS = 1000;
const SLOW_EVERY = 10;
const WARM_UP_MS = 3000;
/** Each round: the kill comes at a random instant 1.5–3.5 s in, and the next round starts 3 s after it. */
const KILL_AFTER_MS = [1500, 3500] as const;
const AFTER_KILL_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

interface Replica {
  readonly id: string;
  readonly director: DirectorProcess;
  readonly exited: Promise<void>;
}

interface Cluster {
  readonly db: BenchDatabase;
  readonly assets: FetchRecorder;
  readonly replicas: Replica[];
  start(): Promise<Replica>;
  close(): Promise<void>;
}

async function openCluster(): Promise<Cluster> {
  const db = await createBenchDatabase('failover');
  const assets = await startFetchRecorder(LOAD_SCRIPT);
  const suffix = randomBytes(2).toString('hex');
  const all: Replica[] = [];
  let n = 0;
  async function start(): Promise<Replica> {
    const id = `failover-${n++}-${suffix}`;
    const director = await startDirector({ DIRECTOR_DATABASE_URL: db.url, DIRECTOR_INSTANCE_ID: id, DIRECTOR_ASSETS_URL: assets.url, DIRECTOR_SCRIPT_POLICY: CLUSTER_TEST_POLICY, DIRECTOR_SHUTDOWN_GRACE_MS: '5000' });
    const exited = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        try {
          process.kill(director.pid, 0);
        } catch {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    const replica = { id, director, exited };
    all.push(replica);
    return replica;
  }
  return {
    db,
    assets,
    replicas: [],
    start,
    async close() {
      await Promise.all(all.map((r) => r.director.stop()));
      await assets.close();
      if (process.env.BENCH_KEEP_DATA === undefined) await db.drop();
      else process.stderr.write(`  database kept: ${db.url}\n`);
    },
  };
}

/** Starts three replicas and the load; resolves once the first slots are behind (warm). */
async function startLoad(cluster: Cluster, prefix: string): Promise<{ tasks: LoadTask[]; fromMs: number }> {
  cluster.replicas.push(...await Promise.all([cluster.start(), cluster.start(), cluster.start()]));
  const base = Math.ceil((Date.now() + 3000) / 1000) * 1000;
  const tasks = loadTasks({ count: TASKS, intervalMs: INTERVAL_MS, baseMs: base, slowEvery: SLOW_EVERY, prefix });
  await createLoadTasks(cluster.replicas[0]!.director.url.href.replace(/\/$/, ''), tasks, cluster.assets);
  const fromMs = Math.max(base, Date.now()) + WARM_UP_MS;
  await sleep(fromMs - Date.now());
  return { tasks, fromMs };
}

async function measureKills(options: BenchOptions): Promise<BenchResult> {
  const cluster = await openCluster();
  try {
    const { tasks, fromMs } = await startLoad(cluster, 'k');
    // --seconds bounds the kill rounds (about 5.5 s each), at least 3 and at most 20.
    const rounds = Math.min(20, Math.max(3, Math.floor(options.seconds / 5.5)));
    const kills: { victim: string; atMs: number }[] = [];
    let replacing: Promise<void> = Promise.resolve();
    for (let round = 0; round < rounds; round++) {
      const [low, high] = KILL_AFTER_MS;
      await sleep(low + Math.random() * (high - low));
      await replacing;
      const index = Math.floor(Math.random() * cluster.replicas.length);
      const victim = cluster.replicas[index]!;
      const atMs = Date.now();
      process.kill(victim.director.pid, 'SIGKILL');
      kills.push({ victim: victim.id, atMs });
      await victim.exited;
      replacing = cluster.start().then((next) => { cluster.replicas[index] = next; });
      await sleep(atMs + AFTER_KILL_MS - Date.now());
    }
    await replacing;
    const toMs = Date.now() - 2 * INTERVAL_MS;
    await sleep(1000);
    const rows = await slotRows(cluster.db);
    const audit = auditSlots(tasks, rows, cluster.assets.ran, fromMs, toMs);
    const perKill = kills.map(({ victim, atMs }) => ({ ...auditKill(rows, victim, atMs), missed: missedBetween(audit, atMs - INTERVAL_MS, atMs + AFTER_KILL_MS) }));
    const detect = perKill.flatMap((k) => (k.detectMs === undefined ? [] : [k.detectMs])).sort((a, b) => a - b);
    const missed = perKill.map((k) => k.missed).sort((a, b) => a - b);
    return {
      replicas: 3,
      tasks: TASKS,
      'interval (s)': INTERVAL_MS / 1000,
      kills: kills.length,
      'time to declare a killed replica\'s runs lost p50 / max (ms)': `${percentile(detect, 50)} / ${detect.at(-1) ?? '-'}`,
      'runs lost per kill (all by session end)': perKill.map((k) => `${k.lost}${k.lostBySession === k.lost ? '' : ` (${k.lost - k.lostBySession} by lease)`}`).join(' / '),
      'in-flight runs of a dead replica not recorded lost': perKill.reduce((n, k) => n + k.notLost.length, 0),
      'slots missed per kill (the runs lost included) min / median / max': `${missed[0]} / ${percentile(missed, 50)} / ${missed.at(-1)}`,
      'slots missed per kill (% of the slots of 1 s)': round((100 * (percentile(missed, 50) ?? 0)) / TASKS),
      'most slots one task missed in a row': audit.worstStreak.slots,
      'slots judged / missed / run twice': `${audit.expected} / ${audit.missed.length} / ${audit.doubled.length}`,
    };
  } finally {
    await cluster.close();
  }
}

async function measureRollingRestart(): Promise<BenchResult> {
  const cluster = await openCluster();
  try {
    const { tasks, fromMs } = await startLoad(cluster, 'r');
    const stopMs: number[] = [];
    for (let index = 0; index < cluster.replicas.length; index++) {
      const old = cluster.replicas[index]!;
      const atMs = Date.now();
      await old.director.stop();
      stopMs.push(Date.now() - atMs);
      cluster.replicas[index] = await cluster.start();
      await sleep(3000);
    }
    const toMs = Date.now() - 2 * INTERVAL_MS;
    await sleep(1000);
    const rows = await slotRows(cluster.db);
    const audit = auditSlots(tasks, rows, cluster.assets.ran, fromMs, toMs);
    return {
      replicas: 3,
      tasks: TASKS,
      'interval (s)': INTERVAL_MS / 1000,
      'replicas restarted (SIGTERM, then a new one)': stopMs.length,
      'SIGTERM to exit (ms)': stopMs.join(' / '),
      'slots judged / missed / run twice': `${audit.expected} / ${audit.missed.length} / ${audit.doubled.length}`,
      'runs lost': rows.filter((r) => r.status === 'lost').length,
    };
  } finally {
    await cluster.close();
  }
}

export const scenarios: readonly BenchScenario[] = [
  {
    name: 'cluster:failover',
    description: '3 replicas, 300 tasks at 1 s (every tenth waits 200–450 ms); one SIGKILLed at a random instant and replaced, repeatedly',
    run: measureKills,
  },
  {
    name: 'cluster:rolling-restart',
    description: '3 replicas, 300 tasks at 1 s; each replica in turn gets SIGTERM and is replaced',
    run: () => measureRollingRestart(),
  },
];
