// API tokens and roles: every route × every kind of caller, 401/403 bodies, open routes, and the safe
// defaults around them (no tokens = anonymous admin on loopback, 0.0.0.0 refused, test endpoint off).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../config.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHarness, type Harness } from '../../test/support/director-harness.js';
import { startDirectorProcess } from '../../test/support/director-process.js';
import { eventually } from '../../test/support/wait.js';
import { bearerToken, createTokenMatcher } from './auth.js';

const TOKENS = {
  viewer: 'viewer-token-0123456789abcdef',
  operator: 'operator-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef',
};
const WRONG = 'wrong-token-0123456789abcdef';
// The admin token is configured as its hash: the clear text never needs to be in the environment.
const TOKENS_ENV = `ops-viewer:viewer:${TOKENS.viewer},ops-operator:operator:${TOKENS.operator},ops-admin:admin:sha256:${sha256Hex(TOKENS.admin)}`;

type Caller = 'none' | 'viewer' | 'operator' | 'admin' | 'wrong';
const CALLERS: readonly Caller[] = ['none', 'viewer', 'operator', 'admin', 'wrong'];
const RANK = { public: 0, viewer: 1, operator: 2, admin: 3 } as const;

function headersOf(caller: Caller): Record<string, string> {
  if (caller === 'none') return {};
  return { authorization: `Bearer ${caller === 'wrong' ? WRONG : TOKENS[caller]}` };
}

interface RouteCase {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';
  readonly role: keyof typeof RANK;
  /** What an allowed caller gets ('served': anything but 401/403, e.g. the dashboard before it is built). */
  readonly ok: number | 'served';
  /** Builds the URL and body, creating what the request needs first (a fresh task to delete …). */
  prepare(h: Harness, n: number): Promise<{ url: string; body?: unknown }>;
}

const SCRIPT = 'module.exports.main = (config) => ({ ok: true, config });';
let counter = 0;

async function seedTask(h: Harness, id: string): Promise<void> {
  const created = await h.request({
    method: 'POST', url: '/api/v1/tasks', headers: { ...headersOf('admin'), 'content-type': 'application/json' },
    payload: JSON.stringify({ id, script: 'ok.js', running: false, interval: 3_600_000, config: { n: id } }),
  });
  assert.equal(created.statusCode, 200, created.body);
}

const ROUTES: readonly RouteCase[] = [
  { name: 'list tasks', method: 'GET', role: 'viewer', ok: 200, prepare: async () => ({ url: '/api/v1/tasks' }) },
  { name: 'get a task', method: 'GET', role: 'viewer', ok: 200, prepare: async () => ({ url: '/api/v1/tasks/matrix' }) },
  {
    name: 'create a task', method: 'POST', role: 'admin', ok: 200,
    prepare: async (_h, n) => ({ url: '/api/v1/tasks', body: { id: `created-${n}`, script: 'ok.js', running: false } }),
  },
  {
    name: 'replace a task', method: 'PUT', role: 'admin', ok: 200,
    prepare: async (_h, n) => ({ url: '/api/v1/tasks/matrix', body: { script: 'ok.js', running: false, interval: 3_600_000, config: { n } } }),
  },
  {
    name: 'delete a task', method: 'DELETE', role: 'admin', ok: 202,
    prepare: async (h, n) => { await seedTask(h, `doomed-${n}`); return { url: `/api/v1/tasks/doomed-${n}` }; },
  },
  { name: 'status', method: 'GET', role: 'viewer', ok: 200, prepare: async () => ({ url: '/api/v1/tasks/matrix/status' }) },
  { name: 'status action', method: 'POST', role: 'operator', ok: 200, prepare: async () => ({ url: '/api/v1/tasks/on-demand/status/switch' }) },
  { name: 'badge', method: 'GET', role: 'public', ok: 200, prepare: async () => ({ url: '/api/v1/tasks/matrix/badge' }) },
  { name: 'slots', method: 'GET', role: 'viewer', ok: 200, prepare: async () => ({ url: '/api/v1/tasks/matrix/slots?count=3' }) },
  { name: 'run (POST)', method: 'POST', role: 'operator', ok: 200, prepare: async () => ({ url: '/api/v1/tasks/matrix/run' }) },
  { name: 'run (PUT)', method: 'PUT', role: 'operator', ok: 200, prepare: async () => ({ url: '/api/v1/tasks/matrix/run' }) },
  {
    name: 'test a script', method: 'POST', role: 'admin', ok: 200,
    prepare: async () => ({ url: '/api/v1/tasks/test', body: { scriptText: SCRIPT, scriptConfig: { a: 1 } } }),
  },
  { name: 'runs', method: 'GET', role: 'viewer', ok: 200, prepare: async () => ({ url: '/api/v1/tasks/matrix/runs' }) },
  { name: 'run detail', method: 'GET', role: 'viewer', ok: 200, prepare: async () => ({ url: `/api/v1/tasks/matrix/runs/${firstRunId}` }) },
  { name: 'whoami', method: 'GET', role: 'viewer', ok: 200, prepare: async () => ({ url: '/api/v1/whoami' }) },
  { name: 'metrics', method: 'GET', role: 'viewer', ok: 200, prepare: async () => ({ url: '/metrics' }) },
  { name: 'health', method: 'GET', role: 'public', ok: 200, prepare: async () => ({ url: '/health' }) },
  { name: 'ready', method: 'GET', role: 'public', ok: 200, prepare: async () => ({ url: '/ready' }) },
  { name: 'docs', method: 'GET', role: 'public', ok: 200, prepare: async () => ({ url: '/docs/json' }) },
  { name: 'commons', method: 'GET', role: 'public', ok: 200, prepare: async () => ({ url: '/commons' }) },
  { name: 'info', method: 'GET', role: 'public', ok: 200, prepare: async () => ({ url: '/info' }) },
  { name: 'dashboard', method: 'GET', role: 'public', ok: 'served', prepare: async () => ({ url: '/' }) },
  { name: 'unknown path (needs a token, then 404)', method: 'GET', role: 'viewer', ok: 404, prepare: async () => ({ url: '/api/v1/nothing-here' }) },
];

let firstRunId = 0;

function expected(route: { role: keyof typeof RANK; ok: number | 'served' }, caller: Caller): number | 'served' {
  if (route.role === 'public') return route.ok;
  if (caller === 'none' || caller === 'wrong') return 401;
  return RANK[caller] >= RANK[route.role] ? route.ok : 403;
}

describe('API tokens and roles', () => {
  let h: Harness;
  before(async () => {
    // A dashboard served from elsewhere: its origins are configured, as they must be for a browser to read answers.
    h = await startHarness({ env: { DIRECTOR_API_TOKENS: TOKENS_ENV, DIRECTOR_CORS_ORIGINS: 'http://dashboard.example,http://x.example' }, listen: true });
    h.assets.setScript('ok.js', SCRIPT);
    await seedTask(h, 'matrix');
    const onDemand = await h.request({
      method: 'POST', url: '/api/v1/tasks', headers: { ...headersOf('admin'), 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'on-demand', script: 'ok.js', running: false }),
    });
    assert.equal(onDemand.statusCode, 200, onDemand.body);
    const run = await h.request({ method: 'POST', url: '/api/v1/tasks/matrix/run', headers: headersOf('operator') });
    assert.equal(run.statusCode, 200, run.body);
    firstRunId = Number(run.headers['x-director-run-id'] ?? (await h.director.store.listRuns('matrix'))[0]?.id);
    assert.ok(firstRunId > 0);
  });
  after(async () => h.close());

  for (const route of ROUTES) {
    it(`${route.method} ${route.name}: ${route.role}`, async () => {
      for (const caller of CALLERS) {
        const { url, body } = await route.prepare(h, ++counter);
        const response = await h.request({
          method: route.method, url,
          headers: { ...headersOf(caller), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        });
        const want = expected(route, caller);
        const what = `${caller} → ${route.method} ${url}: ${response.body.slice(0, 300)}`;
        if (want === 'served') assert.ok(response.statusCode !== 401 && response.statusCode !== 403, what);
        else assert.equal(response.statusCode, want, what);
        if (want === 401 || want === 403) {
          const error = JSON.parse(response.body) as { code: number; error: string; message: string };
          assert.equal(error.code, want);
          assert.equal(error.error, want === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
          assert.ok(error.message.length > 0);
          assert.match(String(response.headers['content-type']), /application\/json/);
          if (want === 401) assert.match(String(response.headers['www-authenticate']), /^Bearer/);
        }
      }
    });
  }

  it('GET /api/v1/events (live stream): viewer', async () => {
    const base = h.director.app.server.address();
    assert.ok(base && typeof base === 'object');
    for (const caller of CALLERS) {
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${base.port}/api/v1/events`, { headers: headersOf(caller), signal: controller.signal });
      assert.equal(response.status, expected({ role: 'viewer', ok: 200 }, caller), caller);
      controller.abort();
      await response.body?.cancel().catch(() => undefined);
    }
  });

  it('answers CORS preflights without a token', async () => {
    for (const url of ['/api/v1/tasks', '/api/v1/tasks/matrix/run', '/metrics']) {
      const response = await h.request({
        method: 'OPTIONS', url,
        headers: { origin: 'http://dashboard.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(response.statusCode, 204, url);
      assert.ok(response.headers['access-control-allow-origin'], url);
    }
  });

  it('says who the caller is', async () => {
    const response = await h.request({ method: 'GET', url: '/api/v1/whoami', headers: headersOf('operator') });
    assert.deepEqual(JSON.parse(response.body), { name: 'ops-operator', role: 'operator', auth: true });
    const admin = await h.request({ method: 'GET', url: '/api/v1/whoami', headers: headersOf('admin') });
    assert.deepEqual(JSON.parse(admin.body), { name: 'ops-admin', role: 'admin', auth: true });
  });

  it('rejects malformed Authorization headers with 401, and 401 responses keep CORS headers', async () => {
    for (const authorization of [TOKENS.admin, `Basic ${TOKENS.admin}`, 'Bearer', 'Bearer ', `Bearer ${TOKENS.admin} extra`, `Bearer ${TOKENS.admin.slice(0, -1)}`, `Bearer ${sha256Hex(TOKENS.admin)}`]) {
      const response = await h.request({ method: 'GET', url: '/api/v1/tasks', headers: { authorization, origin: 'http://x.example' } });
      assert.equal(response.statusCode, 401, authorization);
      assert.ok(response.headers['access-control-allow-origin'], 'CORS headers on a 401 let a browser read it');
    }
    const lower = await h.request({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: `bearer ${TOKENS.viewer}` } });
    assert.equal(lower.statusCode, 200, 'the scheme is case-insensitive');
  });

  it('refuses a write from a viewer before anything is stored', async () => {
    const before = (await h.director.store.listTasks()).length;
    const response = await h.request({
      method: 'POST', url: '/api/v1/tasks', headers: { ...headersOf('viewer'), 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'viewer-write', script: 'ok.js' }),
    });
    assert.equal(response.statusCode, 403);
    assert.equal((await h.director.store.listTasks()).length, before);
    assert.equal(await h.director.store.getTask('viewer-write'), undefined);
  });
});

describe('without tokens (loopback only)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { testEndpoint: false } });
  });
  after(async () => h.close());

  it('lets every local caller in as anonymous admin', async () => {
    const whoami = await h.call('GET', '/api/v1/whoami');
    assert.deepEqual(whoami.body, { name: 'anonymous', role: 'admin', auth: false });
    assert.equal((await h.call('GET', '/api/v1/tasks')).status, 200);
    assert.equal((await h.call('GET', '/metrics')).status, 200);
  });

  it('answers 404 on /tasks/test when DIRECTOR_TEST_ENDPOINT=off, running nothing', async () => {
    const response = await h.call('POST', '/api/v1/tasks/test', { scriptText: SCRIPT });
    assert.equal(response.status, 404);
    assert.equal(response.body.error, 'TEST_ENDPOINT_DISABLED');
    assert.match(response.body.message, /DIRECTOR_TEST_ENDPOINT/);
  });
});

describe('safe default at start-up (real process)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'director-auth-start-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses 0.0.0.0 without tokens, naming the fix', async () => {
    const failure = await startDirectorProcess({ DIRECTOR_HOST: '0.0.0.0', DIRECTOR_DATA_DIR: dataDir }).then(
      (director) => { director.kill('SIGKILL'); return assert.fail('Director listened on 0.0.0.0 without tokens'); },
      (error: unknown) => String(error),
    );
    assert.match(failure, /exited \(2\)/);
    assert.match(failure, /DIRECTOR_API_TOKENS/);
    assert.match(failure, /DIRECTOR_AUTH=off/);
  });

  it('listens on 0.0.0.0 with DIRECTOR_AUTH=off, warning that anyone can run code', async () => {
    const director = await startDirectorProcess({ DIRECTOR_HOST: '0.0.0.0', DIRECTOR_AUTH: 'off', DIRECTOR_DATA_DIR: dataDir });
    try {
      await eventually(() => /"level":40[^\n]*DIRECTOR_AUTH=off/.test(director.output()), 5_000, 'the DIRECTOR_AUTH=off warning');
    } finally {
      director.kill('SIGTERM');
      assert.equal(await director.exited, 0);
    }
  });

  it('says at start-up that without tokens it listens on loopback only', async () => {
    const director = await startDirectorProcess({ DIRECTOR_DATA_DIR: dataDir });
    try {
      assert.match(director.url, /^http:\/\/127\.0\.0\.1:/);
      await eventually(() => director.output().includes('no API tokens configured: the API is open to local clients only'), 5_000, 'the loopback notice');
    } finally {
      director.kill('SIGTERM');
      assert.equal(await director.exited, 0);
    }
  });
});

describe('token helpers', () => {
  it('reads the bearer token of an Authorization header', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('  bearer   abc  '), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });

  it('matches tokens by hash, whichever entry they are', () => {
    const matcher = createTokenMatcher([
      { name: 'a', role: 'viewer', sha256: sha256Hex('token-a-0123456789') },
      { name: 'b', role: 'admin', sha256: sha256Hex('token-b-0123456789') },
    ]);
    assert.equal(matcher.match('token-b-0123456789')?.name, 'b');
    assert.equal(matcher.match('token-a-0123456789')?.name, 'a');
    assert.equal(matcher.match('token-c-0123456789'), undefined);
    assert.equal(matcher.match(''), undefined);
  });
});
