// A loopback assets server for benchmarks: serves one trivial script and records when each task fetched it.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const SCRIPT_PATH = '/api/v1/public/director/bench.js';

export interface Fetch {
  readonly taskId: string;
  /** Wall-clock arrival, epoch ms with sub-millisecond precision. */
  readonly atMs: number;
}

export interface FetchRecorder {
  readonly url: string;
  /** The script URL of a task: the task id travels in the query string. */
  scriptUrl(taskId: string): string;
  readonly fetches: Fetch[];
  close(): Promise<void>;
}

/** Wall clock from a monotonic source, anchored once: no jumps between samples. */
const anchor = Date.now() - performance.now();
const wallNow = (): number => anchor + performance.now();

export async function startFetchRecorder(script = 'module.exports.main = () => 1;'): Promise<FetchRecorder> {
  const fetches: Fetch[] = [];
  const server = createServer((req, res) => {
    const atMs = wallNow();
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === SCRIPT_PATH) {
      fetches.push({ taskId: url.searchParams.get('task') ?? '', atMs });
      res.writeHead(200, { 'content-type': 'application/javascript' }).end(script);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    scriptUrl: (taskId) => `${base}${SCRIPT_PATH}?task=${encodeURIComponent(taskId)}`,
    fetches,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
