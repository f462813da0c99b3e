// A loopback assets server for benchmarks: serves one trivial script and records when each task fetched it.
// Plain TCP with a minimal HTTP/1.1 reader: the instrument must stay much faster than what it measures
// (node:http parsing a thousand fresh connections at once would itself add hundreds of ms).

import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export const SCRIPT_PATH = '/api/v1/public/director/bench.js';

export interface Fetch {
  readonly taskId: string;
  /** Wall-clock arrival, epoch ms. */
  readonly atMs: number;
}

export interface FetchRecorder {
  readonly url: string;
  /** The script URL of a task: the task id travels in the query string. */
  scriptUrl(taskId: string): string;
  readonly fetches: Fetch[];
  close(): Promise<void>;
}

/**
 * Date.now(), the clock Director compares slots with: a monotonic clock anchored once would drift
 * from it by a millisecond or so, and a fetch right at its slot would then look like one that came
 * a whole interval late for the slot before.
 */
const wallNow = (): number => Date.now();

function answer(status: string, type: string, body: string): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nContent-Length: ${bytes.length}\r\nConnection: keep-alive\r\n\r\n`), bytes]);
}

export async function startFetchRecorder(script = 'module.exports.main = () => 1;'): Promise<FetchRecorder> {
  const fetches: Fetch[] = [];
  const ok = answer('200 OK', 'application/javascript', script);
  const notFound = answer('404 Not Found', 'text/plain', 'Not Found');
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      const atMs = wallNow();
      pending += chunk.toString('latin1');
      // Requests are GETs without bodies: each ends at the blank line after its headers.
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const requestLine = pending.slice(0, pending.indexOf('\r\n'));
        pending = pending.slice(end + 4);
        const target = requestLine.split(' ')[1] ?? '/';
        const url = new URL(target, 'http://x');
        if (requestLine.startsWith('GET ') && url.pathname === SCRIPT_PATH) {
          fetches.push({ taskId: url.searchParams.get('task') ?? '', atMs });
          socket.write(ok);
        } else {
          socket.write(notFound);
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  // A burst opens a thousand connections at once: the default backlog (511) would drop SYNs, and the
  // client's retransmit a second later would be measured as Director's lateness.
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    scriptUrl: (taskId) => `${base}${SCRIPT_PATH}?task=${encodeURIComponent(taskId)}`,
    fetches,
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
