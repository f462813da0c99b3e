// Fetches asset text (scripts, sibling JSON) over http(s) or from disk, on every call: bounded in time
// and size; an ETag lets the server answer 304, but a cached body is never served without asking.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { DirectorError } from '../domain/errors.js';
// Messages and details show URLs without their password: they reach logs, run records and viewers.
import { redactUrl } from '../lib/logger.js';

export interface FetchedScript {
  readonly url: string;
  readonly text: string;
  readonly sha256: string;
}

export type FetchedText = { readonly found: true; readonly text: string } | { readonly found: false; readonly status: number };

export interface TextFetcherOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** A local file changed this recently is always read, never served from memory (default 3 s). */
  readonly recentChangeMs?: number;
  /**
   * Checks every redirect target before it is followed (throws to refuse it): a redirect must not lead
   * a fetch outside DIRECTOR_SCRIPT_ORIGINS. Without it, redirects within http(s) are followed.
   */
  readonly checkRedirect?: (url: string) => void;
}

export interface TextFetcher {
  /** A 404 (or a missing file) is `found: false`; any other failure throws ASSETS_UNREACHABLE. */
  fetchText(url: string): Promise<FetchedText>;
  close(): void;
}

const MAX_REDIRECTS = 3;
const MAX_CACHED = 500;
/** Younger local files are never served from memory (see readLocal). */
const RECENT_CHANGE_MS = 3000;
/**
 * Requests in flight per origin. A burst of runs (1,000 tasks sharing a slot) would otherwise open a
 * connection per request and build every request at once, before the first answer could come back;
 * capped, requests go out in slot order over kept-alive connections, and the first runs start at once.
 * 64 keeps a remote assets server (tens of ms away) busy enough to feed the executors.
 */
export const FETCHES_PER_ORIGIN = 64;

interface Cached {
  readonly etag: string;
  readonly text: string;
}

export function createTextFetcher(options: TextFetcherOptions): TextFetcher {
  // As many idle connections kept as may be busy: the next burst reuses them all.
  const sockets = { keepAlive: true, maxSockets: FETCHES_PER_ORIGIN, maxFreeSockets: FETCHES_PER_ORIGIN };
  const agents = { 'http:': new http.Agent(sockets), 'https:': new https.Agent(sockets) };
  const cache = new Map<string, Cached>();
  const gate = createOriginGate(FETCHES_PER_ORIGIN);

  function remember(url: string, etag: string | undefined, text: string): void {
    cache.delete(url);
    if (etag === undefined) return;
    cache.set(url, { etag, text });
    if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  }

  function request(url: string, redirects: number, deadline: number): Promise<FetchedText> {
    const target = new URL(url);
    const agent = target.protocol === 'https:' ? agents['https:'] : agents['http:'];
    const client = target.protocol === 'https:' ? https : http;
    const cached = cache.get(url);
    return new Promise<FetchedText>((resolve, reject) => {
      const unreachable = (why: string): void => reject(new DirectorError('ASSETS_UNREACHABLE', `GET ${redactUrl(url)} ${why}`, { url: redactUrl(url) }));
      const req = client.get(target, { agent, headers: cached ? { 'if-none-match': cached.etag } : {} }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && status !== 304 && res.headers.location !== undefined) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) return unreachable(`redirected more than ${MAX_REDIRECTS} times`);
          const next = new URL(res.headers.location, target).href;
          if (!/^https?:/.test(next)) return unreachable(`redirected to a non-http URL ${redactUrl(next)}`);
          try {
            options.checkRedirect?.(next);
          } catch (error) {
            return reject(error);
          }
          request(next, redirects + 1, deadline).then(resolve, reject);
          return;
        }
        if (status === 304 && cached !== undefined) {
          res.resume();
          return resolve({ found: true, text: cached.text });
        }
        if (status === 404 || status === 410) {
          res.resume();
          return resolve({ found: false, status });
        }
        if (status !== 200) {
          res.resume();
          return unreachable(`answered ${status} ${res.statusMessage ?? ''}`.trim());
        }
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > options.maxBytes) {
          req.destroy();
          return unreachable(`is ${declared} bytes, more than the ${options.maxBytes} allowed (DIRECTOR_SCRIPT_MAX_BYTES)`);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            req.destroy();
            unreachable(`is more than the ${options.maxBytes} bytes allowed (DIRECTOR_SCRIPT_MAX_BYTES)`);
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (size > options.maxBytes) return;
          const text = Buffer.concat(chunks).toString('utf8');
          const etag = res.headers.etag;
          remember(url, typeof etag === 'string' ? etag : undefined, text);
          resolve({ found: true, text });
        });
        res.on('error', (error) => unreachable(`failed while reading: ${error.message}`));
      });
      const timer = setTimeout(() => req.destroy(new Error(`timed out after ${options.timeoutMs} ms (DIRECTOR_FETCH_TIMEOUT_MS)`)), Math.max(0, deadline - Date.now()));
      req.on('close', () => clearTimeout(timer));
      req.on('error', (error: NodeJS.ErrnoException) => unreachable(`failed: ${error.code ?? error.message}${error.code ? ` (${error.message})` : ''}`));
    });
  }

  /** Local files read, by path: the text and the stat it was read under. */
  const readFiles = new Map<string, { readonly version: string; readonly text: string }>();

  /**
   * Synchronous on purpose: a small file in the page cache reads in microseconds, where the async API
   * costs five thread-pool round trips (stat, open, fstat, read, close), about half a millisecond of
   * latency on every create that fills from a sibling JSON and on every run. Every call stats the
   * file, as every HTTP fetch asks the server: the text is read again whenever inode, size, mtime or
   * ctime differ from the last read, which is the local form of an ETag revalidation (an editor's
   * save-and-rename changes the inode, an in-place write the times). Like git's "racily clean" check,
   * a file changed in the last RECENT_CHANGE_MS is always read: file times may be as coarse as a clock
   * tick (or 2 s on some filesystems), and two same-size writes within one tick share their times.
   */
  function readLocal(url: string): FetchedText {
    const file = fileURLToPath(url);
    try {
      const info = statSync(file, { throwIfNoEntry: false });
      if (info === undefined || !info.isFile()) {
        readFiles.delete(file);
        return { found: false, status: 404 };
      }
      if (info.size > options.maxBytes) {
        throw new DirectorError('ASSETS_UNREACHABLE', `${file} is ${info.size} bytes, more than the ${options.maxBytes} allowed (DIRECTOR_SCRIPT_MAX_BYTES)`, { url });
      }
      const version = `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
      const known = readFiles.get(file);
      if (known?.version === version) return { found: true, text: known.text };
      const settled = Date.now() - Math.max(info.mtimeMs, info.ctimeMs) > (options.recentChangeMs ?? RECENT_CHANGE_MS);
      // A file that changed between the stat and this read is read again next time: its stat differs.
      const bytes = readFileSync(file);
      if (bytes.length > options.maxBytes) {
        throw new DirectorError('ASSETS_UNREACHABLE', `${file} is ${bytes.length} bytes, more than the ${options.maxBytes} allowed (DIRECTOR_SCRIPT_MAX_BYTES)`, { url });
      }
      const text = bytes.toString('utf8');
      readFiles.delete(file);
      if (settled) readFiles.set(file, { version, text });
      if (readFiles.size > MAX_CACHED) readFiles.delete(readFiles.keys().next().value as string);
      return { found: true, text };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return { found: false, status: 404 };
      if (error instanceof DirectorError) throw error;
      throw new DirectorError('ASSETS_UNREACHABLE', `cannot read ${file}: ${(error as Error).message}`, { url });
    }
  }

  return {
    fetchText(url) {
      if (url.startsWith('file:')) {
        try {
          return Promise.resolve(readLocal(url));
        } catch (error) {
          return Promise.reject(error);
        }
      }
      if (!/^https?:/i.test(url)) return Promise.reject(new DirectorError('ASSETS_UNREACHABLE', `cannot fetch ${url}: only http(s) and file URLs`, { url }));
      // The timeout bounds the request (a server that hangs), from when it goes out: waiting for a turn
      // behind a burst is bounded by the requests ahead, and must not fail a run that would succeed.
      return gate.run(originOf(url), () => request(url, 0, Date.now() + options.timeoutMs));
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
      cache.clear();
    },
  };
}

/**
 * At most `limit` tasks per origin at a time; the others wait in order, as a closure each (nothing is
 * built for them yet). A freed turn goes straight to the next waiter.
 */
function createOriginGate(limit: number) {
  const active = new Map<string, number>();
  const waiting = new Map<string, Array<() => void>>();
  function release(origin: string): void {
    const queue = waiting.get(origin);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) waiting.delete(origin);
    if (next !== undefined) return next(); // the turn passes on: the count stays
    const count = (active.get(origin) ?? 1) - 1;
    if (count === 0) active.delete(origin);
    else active.set(origin, count);
  }
  return {
    async run<T>(origin: string, work: () => Promise<T>): Promise<T> {
      const count = active.get(origin) ?? 0;
      if (count < limit) {
        active.set(origin, count + 1);
      } else {
        await new Promise<void>((resolve) => {
          const queue = waiting.get(origin);
          if (queue === undefined) waiting.set(origin, [resolve]);
          else queue.push(resolve);
        });
      }
      try {
        return await work();
      } finally {
        release(origin);
      }
    },
  };
}

/** scheme://host:port of an http(s) URL; the URL itself when it cannot be parsed (the request will say why). */
function originOf(url: string): string {
  const match = /^https?:\/\/[^/?#]*/i.exec(url);
  return match === null ? url : match[0].toLowerCase();
}

/** A script's text and its SHA-256 (recorded with the run, to tell which version ran). */
export async function fetchScript(url: string, fetcher: TextFetcher): Promise<FetchedScript> {
  const fetched = await fetcher.fetchText(url);
  if (!fetched.found) throw new DirectorError('ASSETS_UNREACHABLE', `GET ${redactUrl(url)} answered ${fetched.status}: there is no such script`, { url: redactUrl(url), status: fetched.status });
  return { url, text: fetched.text, sha256: createHash('sha256').update(fetched.text).digest('hex') };
}
