// Runner benchmark: trivial-script throughput and per-run latency through the real TaskRunner (fetch from
// a loopback assets server in its own process, execute in the executor pool, record in SQLite).
// Run: node --import tsx bench/runner.ts
// DIRECTOR_EXECUTORS (default: CPU cores) and DIRECTOR_SCRIPT_POLICY (default strict) apply as in Director.

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { createAssets } from '../src/assets/assets.js';
import { loadConfig } from '../src/config.js';
import { parseTask } from '../src/domain/task.js';
import { systemClock } from '../src/lib/clock.js';
import { DirectorEvents } from '../src/lib/events.js';
import { createLogger } from '../src/lib/logger.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { createTaskRunner } from '../src/runner/task-runner.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 1000);
const SCRIPT = 'module.exports.main = (config) => ({ ok: true, n: config.n });';

/**
 * The assets manager is another service, so it runs in its own process here: Director's process should
 * pay only the client side of the per-run fetch. It answers If-None-Match with 304, as a CDN would.
 */
const ASSETS_SERVER = `
const http = require('node:http');
const script = process.argv[2];
const etag = '"v1"';
const server = http.createServer((req, res) => {
  if (req.url !== '/api/v1/public/director/trivial.js') return res.writeHead(404).end();
  if (req.headers['if-none-match'] === etag) return res.writeHead(304, { etag }).end();
  res.writeHead(200, { 'content-type': 'application/javascript', etag }).end(script);
});
server.listen(0, '127.0.0.1', () => process.send('http://127.0.0.1:' + server.address().port));
process.on('disconnect', () => process.exit(0));
`;

async function startAssetsProcess(dir: string): Promise<{ url: string; stop(): void }> {
  const file = path.join(dir, 'assets-server.cjs');
  writeFileSync(file, ASSETS_SERVER);
  const child = fork(file, [SCRIPT], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve) => child.once('message', (m) => resolve(String(m))));
  return { url, stop: () => child.kill() };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Keeps `concurrency` runs in flight for `durationMs`; returns completed runs per second. */
async function throughput(runOne: () => Promise<boolean>, concurrency: number, durationMs: number): Promise<{ perSecond: number; failures: number }> {
  const end = Date.now() + durationMs;
  let done = 0;
  let failures = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      if (await runOne()) done += 1;
      else failures += 1;
    }
  }));
  return { perSecond: (done * 1000) / (Date.now() - started), failures };
}

async function waves(wave: () => Promise<{ done: number; failed: number }>, durationMs: number): Promise<{ perSecond: number; failures: number }> {
  const started = Date.now();
  let done = 0;
  let failures = 0;
  while (Date.now() - started < durationMs) {
    const result = await wave();
    done += result.done;
    failures += result.failed;
  }
  return { perSecond: (done * 1000) / (Date.now() - started), failures };
}

async function latencies(runOne: () => Promise<boolean>, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    if (!(await runOne())) throw new Error('a benchmark run failed');
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return samples.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  // BENCH_DATA_DIR=/dev/shm takes the disk's fsync out, to see the runner's own cost.
  const dir = mkdtempSync(path.join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'director-bench-runner-'));
  const server = await startAssetsProcess(dir);
  const config = { ...loadConfig({ ...process.env, LOG_LEVEL: 'silent' }), assetsUrl: server.url, dataDir: dir };
  const store = await openSqliteStore({ file: path.join(dir, 'director.sqlite') });
  const assets = createAssets({ config });
  const runner = createTaskRunner({ config, store, assets, env: process.env, events: new DirectorEvents(), clock: systemClock, logger: createLogger('silent') });
  const warmStart = Date.now();
  await runner.ready();
  const warmMs = Date.now() - warmStart;
  const now = Date.now();
  const task = parseTask({ id: 'bench', script: 'trivial.js', config: { n: 1 }, running: false, interval: 1 }, { fallbackId: 'bench', createdMs: now, nowMs: now });
  await store.putTask(task);

  const viaRunNow = async (): Promise<boolean> => (await runner.runNow(task)).status === 'succeeded';
  // The scheduler's path: slots claimed in one batch (one transaction), then each run recorded.
  let nextSlot = now;
  const scheduledWave = async (): Promise<{ done: number; failed: number }> => {
    const claims = Array.from({ length: CONCURRENCY }, () => ({ taskId: task.id, slot: nextSlot++, owner: config.instanceId, nowMs: Date.now(), leaseMs: config.leaseMs }));
    const runs = await store.claimSlots(claims);
    const ended = await Promise.all(runs.map((run) => runner.runClaimed(task, run)));
    const done = ended.filter((r) => r.status === 'succeeded').length;
    return { done, failed: ended.length - done };
  };
  const viaRunTest = async (): Promise<boolean> => (await runner.runTest(SCRIPT, { n: 1 })).outcome === 'succeeded';

  // Warm-up: every executor has run a script, V8 has compiled the hot paths.
  await throughput(viaRunNow, CONCURRENCY, 500);
  const full = await throughput(viaRunNow, CONCURRENCY, DURATION_MS);
  const execOnly = await throughput(viaRunTest, CONCURRENCY, DURATION_MS);
  const scheduled = await waves(scheduledWave, DURATION_MS);
  const fullLatency = await latencies(viaRunNow, LATENCY_RUNS);
  const execLatency = await latencies(viaRunTest, LATENCY_RUNS);

  const fmt = (n: number): string => n.toFixed(n < 10 ? 2 : 0);
  const rows: Array<[string, string, string, string]> = [
    ['runNow: fetch + execute + record (SQLite)', fmt(full.perSecond), fmt(percentile(fullLatency, 50)), fmt(percentile(fullLatency, 99))],
    ['runClaimed: batch-claimed slots, fetch + execute + record', fmt(scheduled.perSecond), '–', '–'],
    ['runTest: execute only', fmt(execOnly.perSecond), fmt(percentile(execLatency, 50)), fmt(percentile(execLatency, 99))],
  ];
  console.log(`SQLite in ${dir}`);
  console.log(`executors: ${config.executors} (CPU cores: ${availableParallelism()}), policy: ${config.scriptPolicy}, ${CONCURRENCY} runs in flight for ${DURATION_MS} ms, latency over ${LATENCY_RUNS} sequential runs; pool warm-up ${warmMs} ms`);
  console.log('| path | runs/s | p50 ms | p99 ms |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  const failures = full.failures + execOnly.failures + scheduled.failures;
  if (failures > 0) console.log(`failed runs: ${failures}`);

  await runner.close(1000);
  assets.close();
  await store.close();
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}

await main();
