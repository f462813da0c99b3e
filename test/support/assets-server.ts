// A loopback stand-in for the Governify assets manager: serves scripts and JSON the test can change at
// any time, and records every request (POST bodies too, so tests can see what scripts sent).

import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export const ASSETS_PREFIX = '/api/v1/public/director/';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as received. */
  readonly url: string;
  /** The path alone. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface AssetsServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (what DIRECTOR_ASSETS_URL would be). */
  readonly url: string;
  /** The URL a script name is served at. */
  scriptUrl(name: string): string;
  setScript(name: string, text: string): void;
  /** An object is served as JSON; a string is served as is (to test invalid JSON). */
  setJson(name: string, value: unknown): void;
  /** Answers `status` (e.g. 500) for that name until it is set again. */
  setStatus(name: string, status: number): void;
  /** Delays the answer for that name (to test fetch timeouts). */
  setDelay(name: string, ms: number): void;
  remove(name: string): void;
  /** Same as remove (404 from now on). */
  removeScript(name: string): void;
  /** Every request received, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Resolves with the first request (already received or coming) that matches. */
  waitForRequest(where: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

interface Entry {
  status: number;
  body: string;
  type: string;
  delayMs: number;
}

export async function startAssetsServer(): Promise<AssetsServer> {
  const entries = new Map<string, Entry>();
  const requests: RecordedRequest[] = [];
  const waiters = new Set<{ where: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const recorded: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', path, headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(recorded);
      for (const waiter of waiters) {
        if (waiter.where(recorded)) {
          waiters.delete(waiter);
          waiter.resolve(recorded);
        }
      }
      if (recorded.method !== 'GET' && recorded.method !== 'HEAD') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
        return;
      }
      const entry = path.startsWith(ASSETS_PREFIX) ? entries.get(decodeURIComponent(path.slice(ASSETS_PREFIX.length))) : undefined;
      const answer = (): void => {
        if (entry === undefined) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
          return;
        }
        if (entry.status !== 200) {
          res.writeHead(entry.status, { 'content-type': 'text/plain' }).end(`status ${entry.status}`);
          return;
        }
        const etag = `"${createHash('sha256').update(entry.body).digest('hex').slice(0, 16)}"`;
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag }).end();
          return;
        }
        res.writeHead(200, { 'content-type': entry.type, etag }).end(entry.body);
      };
      if (entry !== undefined && entry.delayMs > 0) setTimeout(answer, entry.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const put = (name: string, body: string, type: string): void => {
    const previous = entries.get(name);
    entries.set(name, { status: 200, body, type, delayMs: previous?.delayMs ?? 0 });
  };
  const entry = (name: string): Entry => {
    const found = entries.get(name) ?? { status: 200, body: '', type: 'text/plain', delayMs: 0 };
    entries.set(name, found);
    return found;
  };

  return {
    url,
    scriptUrl: (name) => `${url}${ASSETS_PREFIX}${name}`,
    setScript: (name, text) => put(name, text, 'application/javascript'),
    setJson: (name, value) => put(name, typeof value === 'string' ? value : JSON.stringify(value), 'application/json'),
    setStatus: (name, status) => {
      entry(name).status = status;
    },
    setDelay: (name, ms) => {
      entry(name).delayMs = ms;
    },
    remove: (name) => {
      entries.delete(name);
    },
    removeScript: (name) => {
      entries.delete(name);
    },
    requests,
    waitForRequest(where, timeoutMs = 10_000) {
      const seen = requests.find(where);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          where,
          resolve: (r: RecordedRequest) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching request reached the assets server within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
