// The HTTP edge in the default setup (loopback, no tokens): a web page can neither read nor change
// anything — foreign Host names (DNS rebinding) and foreign Origins are refused, non-JSON bodies get
// 415, CORS is closed — while curl, the dashboard and the README's examples keep working. Real sockets.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { startHarness, type Harness } from '../../test/support/director-harness.js';
import { rawHttp, type RawRequest } from '../../test/support/raw-http.js';
import { edgeRules } from './http-edge.js';

const run = promisify(execFile);

function writeAllThenRead(port: number, head: string, body: Buffer): Promise<{ error: string | null; received: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let error: string | null = null;
    socket.on('data', (chunk) => { received += chunk.toString('latin1'); });
    socket.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message; });
    socket.on('close', () => resolve({ error, received }));
    socket.write(head);
    socket.end(body);
  });
}

function portOf(h: Harness): number {
  const address = h.director.app.server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

describe('HTTP edge, default setup', () => {
  let h: Harness;
  let port: number;
  const send = (request: Omit<RawRequest, 'port'>) => rawHttp({ port, ...request });
  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  before(async () => {
    h = await startHarness({ listen: true });
    port = portOf(h);
    h.assets.setScript('ok.js', 'module.exports.main = () => ({ ok: true });');
    h.assets.setScript('hello.js', 'module.exports.main = (config) => ({ hello: "world", config });');
    h.assets.setJson('hello.json', { interval: 60000 });
  });
  after(async () => h.close());

  it('refuses a Host that is not a loopback name or address', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, '127.x.example', `127.0.0.1.nip.io:${port}`, '127.0.0.256', 'localhost.evil.example', '[::2]', '0x7f.0.0.1']) {
      const answer = await send({ path: '/api/v1/tasks', headers: { host } });
      assert.equal(answer.status, 403, host);
      assert.equal(answer.json.error, 'HOST_NOT_ALLOWED', host);
      assert.match(answer.json.message, /DIRECTOR_PUBLIC_HOSTS/);
    }
    for (const host of [`localhost:${port}`, 'LOCALHOST', `127.0.0.1:${port}`, '127.1.2.3', `[::1]:${port}`, 'localhost.']) {
      assert.equal((await send({ path: '/api/v1/tasks', headers: { host } })).status, 200, host);
    }
  });

  it('refuses writes from a foreign Origin, and stores nothing', async () => {
    for (const origin of ['http://evil.example', 'null', `http://localhost.evil.example:${port}`, `http://127.0.0.1:${port + 1}`]) {
      const answer = await send({ method: 'POST', path: '/api/v1/tasks', ...json({ id: 'from-page', script: 'ok.js' }, { origin }) });
      assert.equal(answer.status, 403, origin);
      assert.equal(answer.json.error, 'ORIGIN_NOT_ALLOWED');
      for (const [method, path] of [['DELETE', '/api/v1/tasks/x'], ['PUT', '/api/v1/tasks/x/run'], ['POST', '/api/v1/tasks/x/status/switch'], ['PATCH', '/api/v1/tasks/x']]) {
        assert.equal((await send({ method: method!, path: path!, headers: { origin } })).status, 403, `${method} ${path} ${origin}`);
      }
    }
    assert.equal((await send({ path: '/api/v1/tasks/from-page' })).status, 404);
  });

  it('accepts writes without an Origin (curl) and from the same origin (the dashboard)', async () => {
    const plain = await send({ method: 'POST', path: '/api/v1/tasks', ...json({ id: 'same-1', script: 'ok.js' }) });
    assert.equal(plain.status, 200);
    for (const origin of [`http://127.0.0.1:${port}`, `https://127.0.0.1:${port}`]) {
      const same = await send({ method: 'POST', path: '/api/v1/tasks/same-1/status/switch', headers: { origin } });
      assert.equal(same.status, 200, origin);
    }
    const viaLocalhost = await send({ method: 'DELETE', path: '/api/v1/tasks/same-1', headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` } });
    assert.equal(viaLocalhost.status, 202);
  });

  it('answers 415 to a body that is not application/json, which a page could send without a preflight', async () => {
    const body = JSON.stringify({ id: 'typed', script: 'ok.js' });
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const answer = await send({ method: 'POST', path: '/api/v1/tasks', headers: { 'content-type': type }, body });
      assert.equal(answer.status, 415, type);
      assert.equal(answer.json.error, 'UNSUPPORTED_MEDIA_TYPE');
    }
    assert.equal((await send({ method: 'POST', path: '/api/v1/tasks', body })).status, 415, 'no content type');
    assert.equal((await send({ path: '/api/v1/tasks/typed' })).status, 404, 'nothing stored');
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8']) {
      const answer = await send({ method: 'POST', path: '/api/v1/tasks', headers: { 'content-type': type }, body: JSON.stringify({ id: `typed-${type.length}`, script: 'ok.js' }) });
      assert.equal(answer.status, 200, type);
    }
    // Bodiless writes keep working whatever type a client library sets (COMPAT: POST /run with nothing else).
    const bodiless: Array<Record<string, string | number>> = [{}, { 'content-type': 'application/json' }, { 'content-type': 'application/x-www-form-urlencoded', 'content-length': 0 }, { 'content-type': 'text/plain', 'content-length': 0 }];
    for (const headers of bodiless) {
      const answer = await send({ method: 'POST', path: '/api/v1/tasks/typed-16/run', headers });
      assert.equal(answer.status, 200, JSON.stringify(headers));
      assert.deepEqual(answer.json, { ok: true });
    }
  });

  it('sends no CORS headers: no other origin may read an answer', async () => {
    const read = await send({ path: '/api/v1/tasks', headers: { origin: 'http://evil.example' } });
    assert.equal(read.status, 200);
    assert.equal(read.headers['access-control-allow-origin'], undefined);
    const preflight = await send({ method: 'OPTIONS', path: '/api/v1/tasks', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  it('answers an oversize body with a readable 413 after reading it, instead of a reset connection', async () => {
    const small = await startHarness({ listen: true, env: { DIRECTOR_BODY_LIMIT: '1048576' } });
    try {
      const body = Buffer.alloc(20 * 1024 * 1024, 'a');
      // As simple clients do: the whole body is written before anything is read.
      for (const framing of [`content-length: ${body.length}`, 'transfer-encoding: chunked']) {
        for (let attempt = 0; attempt < 3; attempt++) {
          const chunked = framing.startsWith('transfer');
          const payload = chunked ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body;
          const { error, received } = await writeAllThenRead(portOf(small), `POST /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`, payload);
          assert.equal(error, null, `${framing}: the connection failed under the client`);
          assert.match(received, /^HTTP\/1\.1 413 /, framing);
          const answer = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4));
          assert.equal(answer.code, 413);
          assert.equal(answer.error, 'BODY_TOO_LARGE');
          assert.match(answer.message, /DIRECTOR_BODY_LIMIT/);
        }
      }
    } finally {
      await small.close();
    }
  });

  it("runs README's curl examples as written (with this port)", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## First task, step by step'), readme.indexOf('## API'));
    const commands = section.replace(/\\\n\s*/g, '').split('\n').map((line) => line.trim()).filter((line) => line.startsWith('curl '))
      .map((line) => line.replace(/\s+#.*$/, '').replaceAll('localhost:5800', `localhost:${port}`));
    assert.ok(commands.length >= 6, 'README has its curl examples');
    let id = '';
    for (const command of commands) {
      const { stdout } = await run('bash', ['-c', `${command.replace('<id>', id)} -w '\\n%{http_code}'`]);
      const status = Number(stdout.trim().split('\n').pop());
      assert.ok(status >= 200 && status < 300, `${command} → ${status}: ${stdout.slice(0, 300)}`);
      if (!id) id = JSON.parse(stdout.trim().split('\n')[0]!).id as string;
    }
  });
});

describe('HTTP edge, configured', () => {
  it('accepts names listed in DIRECTOR_PUBLIC_HOSTS, and only those', async () => {
    const h = await startHarness({ listen: true, env: { DIRECTOR_PUBLIC_HOSTS: 'director.example, other.example:8080' } });
    try {
      const port = portOf(h);
      for (const [host, status] of [['director.example', 200], [`director.example:${port}`, 200], ['other.example:8080', 200], ['other.example:9', 403], ['evil.example', 403], [`127.0.0.1:${port}`, 200]] as const) {
        assert.equal((await rawHttp({ port, path: '/health', headers: { host } })).status, status, host);
      }
    } finally {
      await h.close();
    }
  });

  it('opens CORS and writes to the origins of DIRECTOR_CORS_ORIGINS, PATCH included in preflights', async () => {
    const h = await startHarness({ listen: true, env: { DIRECTOR_CORS_ORIGINS: 'https://ui.example' } });
    try {
      const port = portOf(h);
      h.assets.setScript('ok.js', 'module.exports.main = () => 1;');
      const preflight = await rawHttp({ port, method: 'OPTIONS', path: '/api/v1/tasks', headers: { origin: 'https://ui.example', 'access-control-request-method': 'PATCH' } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], 'https://ui.example');
      assert.match(String(preflight.headers['access-control-allow-methods']), /\bPATCH\b/);
      const created = await rawHttp({ port, method: 'POST', path: '/api/v1/tasks', headers: { origin: 'https://ui.example', 'content-type': 'application/json' }, body: '{"id":"ui","script":"ok.js"}' });
      assert.equal(created.status, 200);
      assert.equal(created.headers['access-control-allow-origin'], 'https://ui.example');
      const other = await rawHttp({ port, method: 'DELETE', path: '/api/v1/tasks/ui', headers: { origin: 'https://other.example' } });
      assert.equal(other.status, 403);
      assert.equal((await rawHttp({ port, path: '/api/v1/tasks', headers: { origin: 'https://other.example' } })).headers['access-control-allow-origin'], undefined);
    } finally {
      await h.close();
    }
  });

  it('checks no Host when listening beyond loopback, unless names are listed', () => {
    assert.equal(edgeRules({ host: '0.0.0.0', publicHosts: [], corsOrigins: [] }).hostAllowed, null);
    assert.equal(edgeRules({ host: '127.0.0.1', publicHosts: ['*'], corsOrigins: [] }).hostAllowed, null);
    const listed = edgeRules({ host: '0.0.0.0', publicHosts: ['director'], corsOrigins: [] }).hostAllowed;
    assert.ok(listed);
    assert.equal(listed('director:5800'), true);
    assert.equal(listed('evil.example'), false);
    assert.equal(edgeRules({ host: '::1', publicHosts: [], corsOrigins: [] }).hostAllowed?.('127.x.example'), false);
  });
});
