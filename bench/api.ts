// API benchmark against a real Director process built in dist/ (npm run bench builds it): 1,000
// sequential creates, GET-one latency, listing 10,000 tasks. Run alone: node --import tsx bench/api.ts
//
// Sequential means one request at a time on one kept-alive connection, each sent once the previous
// one is answered: every create waits for its own commit to be on disk, nothing is batched for it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDirector } from './support/director-process.js';
import { jsonClient } from './support/http-client.js';
import { sequentialClient, type SequentialClient } from './support/sequential-client.js';

/** Tasks created 16 at a time (node:http client) to reach 10,000 for the list. */
const FILL = 10_000 - 2500;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function task(id: string, i: number): Record<string, unknown> {
  // No init: like a client that leaves it out, each create reads hello.json for it (COMPAT 7).
  return { id, script: 'hello.js', running: false, interval: 3_600_000, config: { i } };
}

/** Creates `count` tasks one after another; returns tasks/s and each create's latency, sorted. */
async function createSequentially(client: SequentialClient, prefix: string, count: number): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const sent = performance.now();
    const answer = await client.call('POST', '/api/v1/tasks', task(`${prefix}-${i}`, i));
    latencies.push(performance.now() - sent);
    if (answer.status !== 200) throw new Error(`create answered ${answer.status}: ${answer.text}`);
  }
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: count / seconds, latencies: latencies.sort((a, b) => a - b) };
}

export async function apiBenchmark(env: Record<string, string> = {}): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'director-bench-api-'));
  const director = await startDirector({ DIRECTOR_DATA_DIR: dataDir, ...env });
  const client = await sequentialClient(director.url);
  const filler = jsonClient(director.url);
  try {
    // Warm-up: JIT, the SQLite page cache and a WAL that has wrapped once, so the numbers are steady-state.
    await createSequentially(client, 'warm', 1500);

    const creates = await createSequentially(client, 't', 1000);

    const gets: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const sent = performance.now();
      const answer = await client.call('GET', `/api/v1/tasks/t-${i % 1000}`);
      gets.push(performance.now() - sent);
      if (answer.status !== 200) throw new Error(`get answered ${answer.status}`);
    }
    gets.sort((a, b) => a - b);

    // Fill up to 10,000 tasks, 16 requests in flight, then list them all.
    // Concurrent clients share each fsync (group commit): the figure sequential clients cannot reach.
    const fillStarted = performance.now();
    await filler.many(FILL, 16, (i) => ({ method: 'POST', path: '/api/v1/tasks', body: task(`fill-${i}`, i) }));
    const fillPerSecond = FILL / ((performance.now() - fillStarted) / 1000);
    const lists: number[] = [];
    for (let i = 0; i < 10; i++) {
      const sent = performance.now();
      const answer = await client.call('GET', '/api/v1/tasks');
      lists.push(performance.now() - sent);
      if ((JSON.parse(answer.text) as unknown[]).length !== 10_000) throw new Error('list did not return 10,000 tasks');
    }
    lists.sort((a, b) => a - b);
    if (director.problems.length > 0) throw new Error(`Director logged problems:\n${director.problems.join('\n')}`);
    return {
      'create 1,000 sequentially (tasks/s)': creates.perSecond.toFixed(0),
      'create latency p50 / p99 (ms)': `${percentile(creates.latencies, 50).toFixed(2)} / ${percentile(creates.latencies, 99).toFixed(2)}`,
      'create 7,500 with 16 in flight (tasks/s)': fillPerSecond.toFixed(0),
      'GET /tasks/{id} p50 / p99 (ms)': `${percentile(gets, 50).toFixed(2)} / ${percentile(gets, 99).toFixed(2)}`,
      'list 10,000 tasks median / max (ms)': `${percentile(lists, 50).toFixed(1)} / ${(lists.at(-1) ?? Number.NaN).toFixed(1)}`,
    };
  } finally {
    client.close();
    filler.close();
    await director.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const result = await apiBenchmark();
  for (const [name, value] of Object.entries(result)) console.log(`${name.padEnd(40)} ${value}`);
}
