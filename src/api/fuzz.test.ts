// Fuzz: ≥ 10,000 random and malformed requests (methods, paths, headers — Host, Origin and content-type
// among them —, bodies; in-process and over raw sockets) get only 2xx/4xx answers, never a 5xx or a
// crash, and leave the store as it was. A fixed list of seeds runs every time (a failure found once stays
// found), plus one random seed, printed; reproduce a failure with FUZZ_SEED=<the printed seed>.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { InjectOptions } from 'fastify';
import { startHarness, type Harness } from '../../test/support/director-harness.js';

/** Seeds that run every time; add the seed of any failure found here once it is fixed. */
const FIXED_SEEDS = [1, 42, 20_251_129, 1_234_567_891];
const PER_SEED = 2_000;
// Most requests carry the admin token, so they reach the handlers; the rest test the token check.
const ADMIN = 'fuzz-admin-token-0123456789abcdef';
const RAW_SHARE = 0.15;
const randomSeed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: small, fast, good enough to pick fuzz cases reproducibly. */
function prng(state: number) {
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

// Existing tasks are named so that no generated path or body can name them: writes never hit them.
const KEPT = ['fz-keep-0', 'fz-keep-1', 'fz-keep-2'];
const WORDS = ['api', 'v1', 'tasks', 'test', 'status', 'start', 'stop', 'switch', 'run', 'runs', 'badge', 'slots', 'whoami', 'metrics',
  'health', 'ready', 'docs', 'json', 'commons', 'info', 'logger', 'config', 'infrastructure', 'requestLogging', 'static', 'index.html'];
const JUNK = ['', '.', '..', '%00', '%2e%2e', '%2F', '%', '%zz', '%C0%AE', '%FF', 'ñ', '日本', '🦄', '\u202e', ';', '*', '~', '-1',
  '0', '1', '999999999999999999999', '1e3', 'null', 'undefined', '__proto__', 'constructor', '%20', '+', '$', '{id}', ':id'];
const METHODS = ['GET', 'GET', 'HEAD', 'POST', 'POST', 'PUT', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const RAW_METHODS = [...METHODS, 'PROPFIND', 'get', 'FOO', 'CONNECT', 'TRACE', 'G E T', ''];
const TYPES = ['application/json', 'application/json', 'text/plain', 'application/json; charset=utf-8', 'application/json; charset=latin1',
  'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/html', 'garbage', '', 'application/*', 'application/json;;;',
  'text/plain;charset=UTF-8', 'APPLICATION/JSON', 'application/jsonx', 'application/merge-patch+json', ' application/json', 'application/json, text/plain'];
// Names a browser could send after DNS rebinding, or malformed ones, beside loopback names that pass.
const HOSTS = ['127.0.0.1', '127.0.0.1:5800', 'localhost', 'LOCALHOST:1', '[::1]:80', '127.9.9.9', 'evil.example', '127.x.example',
  '127.0.0.1.nip.io', '127.0.0.256', '0x7f.0.0.1', '::1', '[::1', 'a b', '', 'localhost:99999', 'xn--ls8h.example', '%31%32%37.0.0.1'];
const ORIGINS = ['http://evil.example', 'null', '*', '', 'http://127.0.0.1', 'http://localhost', 'https://localhost:1', 'file://', 'http://[::1]',
  'http://127.0.0.1.evil.example', 'not a url'];
const NUMBERS = ['0', '-0', '1', '-1', '1e400', '-1e400', '1e-400', '123456789012345678901234567890', '3.14', '9007199254740993', '1E2'];
const KEYS = ['id', 'script', 'running', 'init', 'end', 'interval', 'timeout', 'overlap', 'catchUp', 'retries', 'config', 'configuration',
  'scriptText', 'scriptConfig', '__proto__', 'constructor', 'prototype', 'toString', '', 'a', 'ñ'];

function segment(r: Rng): string {
  if (r.chance(0.02)) return 'a'.repeat(r.pick([200, 1001, 5000, 20_000]));
  if (r.chance(0.5)) return r.pick(WORDS);
  if (r.chance(0.5)) return r.pick(JUNK);
  return Array.from({ length: 1 + r.int(12) }, () => String.fromCharCode(33 + r.int(94))).join('').replace(/[?#/]/g, '');
}

function randomPath(r: Rng, method: string): string {
  const base = r.chance(0.7) ? '/api/v1/tasks' : r.chance(0.5) ? '' : `/${r.pick(WORDS)}`;
  const count = r.int(5);
  const parts = Array.from({ length: count }, () => segment(r));
  // Reads may name kept tasks, writes never do: a 2xx write would legitimately change the store.
  if (['GET', 'HEAD', 'OPTIONS'].includes(method) && parts.length > 0 && r.chance(0.3)) parts[0] = r.pick(KEPT);
  let url = `${base}/${parts.join(r.chance(0.05) ? '//' : '/')}`;
  if (r.chance(0.3)) url += `?${Array.from({ length: 1 + r.int(4), }, () => `${encodeURIComponent(r.pick([...KEYS, 'limit', 'offset', 'count', 'a[b]', 'x[]']))}=${encodeURIComponent(r.pick([...NUMBERS, ...JUNK]))}`).join('&')}`;
  if (r.chance(0.02)) url += '#fragment';
  return url;
}

/** JSON text with raw number literals (1e400 …) that no serialiser would write. */
function jsonValue(r: Rng, depth: number): string {
  const kind = depth > 4 ? r.int(4) : r.int(7);
  if (kind === 0) return r.pick(NUMBERS);
  if (kind === 1) return JSON.stringify(r.pick([...JUNK, ...WORDS, 'x'.repeat(r.int(3000))]));
  if (kind === 2) return r.pick(['true', 'false', 'null']);
  if (kind === 3) return '[]';
  if (kind === 4) return `[${Array.from({ length: r.int(5) }, () => jsonValue(r, depth + 1)).join(',')}]`;
  if (kind === 5) return `"${'\\u0000'.repeat(r.int(3))}\\ud800"`;
  return jsonObject(r, depth + 1, false);
}

/** Objects never hold a string `script` or `scriptText`: those could create a task or run a script. */
function jsonObject(r: Rng, depth: number, top: boolean): string {
  const keys = new Set(Array.from({ length: r.int(6) }, () => r.pick(KEYS)));
  const fields = [...keys].map((key) => {
    let value = jsonValue(r, depth);
    if ((key === 'script' || key === 'scriptText') && value.startsWith('"')) value = top ? '42' : value;
    return `${JSON.stringify(key)}:${value}`;
  });
  return `{${fields.join(',')}}`;
}

function randomBody(r: Rng): string | undefined {
  switch (r.int(9)) {
    case 0: return undefined;
    case 1: return r.pick(['{', '{"a":', '[1,2', 'nul', "{'a':1}", '{"a":1}}', '\u0000', ' ', '"unterminated', '{"a":1,}', '01']);
    case 2: {
      const depth = r.pick([100, 2_000, 20_000]);
      return r.chance(0.5) ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `{"config":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    }
    case 3: return Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256))).toString('latin1');
    case 4: return r.pick(NUMBERS);
    case 5: return `[${Array.from({ length: r.int(4) }, () => jsonObject(r, 1, false)).join(',')}]`;
    default: return jsonObject(r, 0, true);
  }
}

function randomHeaders(r: Rng, body: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (body !== undefined || r.chance(0.2)) headers['content-type'] = r.pick(TYPES);
  if (r.chance(0.8)) headers.authorization = `Bearer ${ADMIN}`;
  else if (r.chance(0.5)) headers.authorization = r.pick(['Bearer', 'Bearer x', 'Basic Zm9vOmJhcg==', 'Bearer ' + 'a'.repeat(5000), 'bearer  ', `Bearer ${ADMIN}\u00e9`, `Bearer  ${ADMIN} ${ADMIN}`]);
  if (r.chance(0.1)) headers['x-request-id'] = r.pick(['ok-1', 'a'.repeat(500), '日本', '<x>', '']);
  if (r.chance(0.15)) headers.origin = r.pick(ORIGINS);
  if (r.chance(0.15)) headers.host = r.pick(HOSTS);
  if (r.chance(0.1)) headers['access-control-request-method'] = r.pick(METHODS);
  if (r.chance(0.1)) headers.accept = r.pick(['text/event-stream', '*/*', 'application/xml', 'garbage']);
  if (r.chance(0.05)) headers['accept-encoding'] = r.pick(['gzip', 'br', 'identity;q=0', 'x']);
  return headers;
}

interface Outcome { readonly statuses: number[]; readonly request: string }

async function viaInject(h: Harness, r: Rng): Promise<Outcome> {
  const method = r.pick(METHODS);
  const url = randomPath(r, method);
  const body = ['GET', 'HEAD', 'OPTIONS'].includes(method) && r.chance(0.8) ? undefined : randomBody(r);
  const headers = randomHeaders(r, body);
  const request = `${method} ${url.slice(0, 200)} ${JSON.stringify(headers).slice(0, 200)} ${String(body).slice(0, 200)}`;
  let options: InjectOptions;
  try {
    options = { method: method as InjectOptions['method'], url, headers, ...(body === undefined ? {} : { payload: body }) };
    const response = await withTimeout(h.request(options), 15_000, request);
    return { statuses: [response.statusCode], request };
  } catch (error) {
    // light-my-request refuses some inputs (invalid header characters) before Director sees them.
    if (error instanceof TypeError || (error as { code?: string }).code === 'ERR_INVALID_CHAR') return { statuses: [], request };
    throw error;
  }
}

function rawRequest(r: Rng): string {
  const method = r.pick(RAW_METHODS);
  const url = randomPath(r, ['GET', 'HEAD', 'OPTIONS'].includes(method) ? method : 'POST');
  const body = randomBody(r) ?? '';
  const bytes = Buffer.byteLength(body, 'latin1');
  const lines = [`${method} ${url} ${r.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'http/1.1', ''])}`];
  const headers = randomHeaders(r, body);
  // The raw Host line: usually loopback, sometimes foreign, malformed, doubled or missing.
  const host = headers.host ?? (r.chance(0.9) ? '127.0.0.1' : undefined);
  delete headers.host;
  if (host !== undefined) lines.push(`Host: ${host}`);
  if (r.chance(0.02)) lines.push(`Host: ${r.pick(HOSTS)}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  switch (r.int(8)) {
    case 0: lines.push(`Content-Length: ${bytes + 1 + r.int(50)}`); break;
    case 1: lines.push(`Content-Length: ${Math.max(0, bytes - 1 - r.int(5))}`); break;
    case 2: lines.push('Content-Length: -1'); break;
    case 3: lines.push(`Content-Length: ${bytes}`, `Content-Length: ${bytes + 1}`); break;
    case 4: lines.push('Transfer-Encoding: chunked'); return `${lines.join('\r\n')}\r\n\r\n${r.pick(['zz\r\n', `${bytes.toString(16)}\r\n${body}\r\n0\r\n\r\n`, '5\r\nabc\r\n0\r\n\r\n'])}`;
    case 5: lines.push('Transfer-Encoding: chunked', `Content-Length: ${bytes}`); break;
    case 6: lines.push(r.pick(['Bad Header Name: x', 'NoColon', ' folded: x', `X-Big: ${'a'.repeat(20_000)}`, 'X-Nul: a\u0000b', 'Expect: 100-continue'])); lines.push(`Content-Length: ${bytes}`); break;
    default: lines.push(`Content-Length: ${bytes}`);
  }
  if (r.chance(0.7)) lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function viaSocket(port: number, text: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ statuses: [...received.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])), request: text.slice(0, 600) });
    };
    // A request that promised more body than it sent is waited for by the server: no answer is fine.
    const timer = setTimeout(finish, 2_000);
    socket.on('data', (chunk) => { received += chunk.toString('latin1'); });
    socket.on('close', finish);
    socket.on('error', finish);
    socket.end(Buffer.from(text, 'latin1'));
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

function snapshot(dataDir: string): string {
  const db = new Database(path.join(dataDir, 'director.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const tasks = db.prepare('SELECT * FROM tasks ORDER BY id').all();
    const runs = db.prepare('SELECT * FROM runs ORDER BY id').all();
    return JSON.stringify({ tasks, runs });
  } finally {
    db.close();
  }
}

describe('fuzz', () => {
  let h: Harness;
  let port = 0;
  before(async () => {
    h = await startHarness({ listen: true, env: { DIRECTOR_API_TOKENS: `fuzz:admin:${ADMIN}` } });
    h.assets.setScript('ok.js', 'module.exports.main = () => ({ ok: true });');
    for (const [i, id] of KEPT.entries()) {
      const created = await call('POST', '/api/v1/tasks', { id, script: 'ok.js', running: false, interval: 3_600_000, config: { i } });
      assert.equal(created.statusCode, 200);
    }
    // One run in the history, so run routes have something to read.
    assert.equal((await call('POST', `/api/v1/tasks/${KEPT[0]}/run`)).statusCode, 200);
    const address = h.director.app.server.address();
    assert.ok(address && typeof address === 'object');
    port = address.port;
  });
  after(async () => h.close());
  const call = (method: 'GET' | 'POST', url: string, body?: unknown) => h.request({
    method, url, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });

  async function fuzz(t: { diagnostic(message: string): void }, seed: number): Promise<void> {
    t.diagnostic(`fuzz seed: ${seed} (FUZZ_SEED=${seed} reproduces this run)`);
    console.log(`fuzz seed: ${seed}`);
    const before = snapshot(h.dataDir);
    const r = prng(seed);
    const failures: string[] = [];
    const tally = new Map<number | string, number>();
    let sent = 0;
    while (sent < PER_SEED) {
      // Cases are drawn in order from the one generator, then sent concurrently: the set is reproducible.
      const batch: Promise<Outcome>[] = [];
      for (let k = 0; k < 16 && sent < PER_SEED; k++, sent++) {
        batch.push(r.chance(RAW_SHARE) ? viaSocket(port, rawRequest(r)) : viaInject(h, r));
      }
      for (const outcome of await Promise.all(batch)) {
        if (outcome.statuses.length === 0) tally.set('no answer', (tally.get('no answer') ?? 0) + 1);
        // 100 Continue is an interim answer (Expect: 100-continue); the final one follows it.
        for (const status of outcome.statuses.filter((s) => s !== 100)) {
          tally.set(status, (tally.get(status) ?? 0) + 1);
          if (status >= 500 || status < 200 || (status >= 300 && status < 400 && status !== 302 && status !== 304)) {
            failures.push(`${status} ← ${JSON.stringify(outcome.request)}`);
          }
        }
      }
    }
    t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} bad answers (seed ${seed})`);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200, 'still answering');
    assert.equal((await call('GET', '/ready')).statusCode, 200, 'still ready');
    assert.equal(snapshot(h.dataDir), before, 'the store is unchanged');
  }

  for (const seed of FIXED_SEEDS) {
    it(`answers ${PER_SEED} requests of fixed seed ${seed} with 2xx/4xx only and leaves the store unchanged`, { timeout: 300_000 }, (t) => fuzz(t, seed));
  }
  it(`answers ${PER_SEED} requests of random seed ${randomSeed} with 2xx/4xx only and leaves the store unchanged`, { timeout: 300_000 }, (t) => fuzz(t, randomSeed));

  it('answers hostile bodies on writes that would otherwise succeed with 2xx/4xx, and keeps running scripts', async () => {
    const json = { 'content-type': 'application/json' };
    const nested = (depth: number, open: string, close: string, leaf = '') => `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
    const cases: Array<[string, string, string]> = [];
    for (const depth of [255, 300, 5_000, 100_000]) {
      cases.push(['POST', '/api/v1/tasks', `{"id":"deep-${depth}","script":"ok.js","running":false,"config":${nested(depth, '[', ']')}}`]);
      cases.push(['PUT', `/api/v1/tasks/${KEPT[1]}`, `{"script":"ok.js","running":false,"config":${nested(depth, '{"a":', '}', '1')}}`]);
      cases.push(['POST', '/api/v1/tasks/test', `{"scriptText":"module.exports.main = (c) => c","scriptConfig":${nested(depth, '[', ']')}}`]);
    }
    for (const value of NUMBERS) {
      cases.push(['POST', '/api/v1/tasks', `{"id":"num-${value}","script":"ok.js","running":false,"interval":${value},"init":${value},"end":${value},"timeout":${value}}`]);
      cases.push(['POST', '/api/v1/tasks/test', `{"scriptText":"module.exports.main = (c) => c","scriptConfig":${value}}`]);
    }
    for (const [method, url, payload] of cases) {
      const response = await h.request({ method: method as 'POST' | 'PUT', url, headers: { ...json, authorization: `Bearer ${ADMIN}` }, payload });
      assert.ok(response.statusCode < 500, `${method} ${url} ${payload.slice(0, 120)} → ${response.statusCode} ${response.body.slice(0, 200)}`);
    }
    const test = await call('POST', '/api/v1/tasks/test', { scriptText: 'module.exports.main = () => 42' });
    assert.equal(test.statusCode, 200, 'the executor pool still runs scripts');
    assert.equal(test.body, '42');
  });
});
