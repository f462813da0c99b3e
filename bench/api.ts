// API benchmark: sequential creates over HTTP, GET-one latency, listing 10,000 tasks — against a real
// Director process built in dist/ (npm run bench builds it). Run alone: node --import tsx bench/api.ts

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:http';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function call(base: URL, method: string, url: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: base.hostname, port: base.port, path: url, method, agent, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function startDirector(dataDir: string): Promise<{ url: URL; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(root, 'dist/main.js')], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', DIRECTOR_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(text);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`Director exited ${code}`)));
  });
  child.stdout!.resume();
  return {
    url: new URL(url),
    stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }),
  };
}

export async function apiBenchmark(): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'director-bench-api-'));
  const director = await startDirector(dataDir);
  const base = director.url;
  try {
    // Warm-up: JIT and the SQLite page cache, so the numbers are steady-state.
    for (let i = 0; i < 200; i++) await call(base, 'POST', '/api/v1/tasks', { id: `warm-${i}`, script: 'hello.js', running: false, interval: 60000 });

    const createStart = performance.now();
    for (let i = 0; i < 1000; i++) {
      const res = await call(base, 'POST', '/api/v1/tasks', { id: `t-${i}`, script: 'hello.js', running: false, interval: 3_600_000, config: { i } });
      if (res.status !== 200) throw new Error(`create answered ${res.status}: ${res.text}`);
    }
    const createSeconds = (performance.now() - createStart) / 1000;

    const latencies: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const start = performance.now();
      const res = await call(base, 'GET', `/api/v1/tasks/t-${i % 1000}`);
      latencies.push(performance.now() - start);
      if (res.status !== 200) throw new Error(`get answered ${res.status}`);
    }
    latencies.sort((a, b) => a - b);

    // Fill up to 10,000 tasks, 16 requests in flight.
    const pending: Array<Promise<unknown>> = [];
    for (let i = 1000; i < 10_000 - 200; i++) {
      pending.push(call(base, 'POST', '/api/v1/tasks', { id: `t-${i}`, script: 'hello.js', running: false, interval: 3_600_000, config: { i } }));
      if (pending.length >= 16) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    const listTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const start = performance.now();
      const res = await call(base, 'GET', '/api/v1/tasks');
      listTimes.push(performance.now() - start);
      if (JSON.parse(res.text).length !== 10_000) throw new Error('list did not return 10,000 tasks');
    }
    listTimes.sort((a, b) => a - b);
    return {
      'create 1,000 sequentially (tasks/s)': (1000 / createSeconds).toFixed(0),
      'GET /tasks/{id} p50 (ms)': percentile(latencies, 50).toFixed(2),
      'GET /tasks/{id} p99 (ms)': percentile(latencies, 99).toFixed(2),
      'list 10,000 tasks median (ms)': percentile(listTimes, 50).toFixed(1),
      'list 10,000 tasks max (ms)': listTimes[listTimes.length - 1]!.toFixed(1),
    };
  } finally {
    await director.stop();
    agent.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const result = await apiBenchmark();
  for (const [name, value] of Object.entries(result)) console.log(`${name.padEnd(40)} ${value}`);
}
