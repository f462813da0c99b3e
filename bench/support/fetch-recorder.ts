// A loopback assets server for benchmarks: serves one trivial script and records when each task fetched it.
// Plain TCP with a minimal HTTP/1.1 reader: the instrument must stay much faster than what it measures
// (node:http parsing a thousand fresh connections at once would itself add hundreds of ms).

import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export const SCRIPT_PATH = '/api/v1/public/director/bench.js';
const RAN_PATH = '/ran';

export interface Fetch {
  readonly taskId: string;
  /** Wall-clock arrival, epoch ms. */
  readonly atMs: number;
}

/**
 * Reports that it ran to `config.ranUrl` (a recorder's `ranUrl(taskId)`), then returns its slot: each
 * execution shows up outside Director, even one that had no run row.
 */
export const REPORTING_SCRIPT = `const http = require('http');
const reportRun = (config, context) => new Promise((resolve) => http.get(config.ranUrl + '&slot=' + context.slot, (res) => { res.resume(); res.on('end', resolve); }).on('error', resolve));
module.exports.main = async (config, context) => { await reportRun(config, context); return context.slot; };`;

/** Executions per `task@slot`, from the scripts' own reports. */
export function executionsBySlot(ran: readonly Pick<Ran, 'taskId' | 'slot'>[]): Map<string, number> {
  const executions = new Map<string, number>();
  for (const report of ran) executions.set(`${report.taskId}@${report.slot}`, (executions.get(`${report.taskId}@${report.slot}`) ?? 0) + 1);
  return executions;
}

/** A script's own report that it ran (see `ranUrl`). */
export interface Ran {
  readonly taskId: string;
  readonly slot: number;
  readonly atMs: number;
}

export interface FetchRecorder {
  readonly url: string;
  /** The script URL of a task: the task id travels in the query string. */
  scriptUrl(taskId: string): string;
  /**
   * Where a script reports that it ran: GET it with `&slot=<slot>` appended. Fetches no longer count
   * executions (Director fetches a scheduled run's script ahead, and drops it when another replica
   * wins the slot): these reports do, from outside Director.
   */
  ranUrl(taskId: string): string;
  readonly fetches: Fetch[];
  readonly ran: Ran[];
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
  const ran: Ran[] = [];
  const noted = answer('200 OK', 'text/plain', 'ok');
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
        } else if (requestLine.startsWith('GET ') && url.pathname === RAN_PATH) {
          ran.push({ taskId: url.searchParams.get('task') ?? '', slot: Number(url.searchParams.get('slot')), atMs });
          socket.write(noted);
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
    ranUrl: (taskId) => `${base}${RAN_PATH}?task=${encodeURIComponent(taskId)}`,
    fetches,
    ran,
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
