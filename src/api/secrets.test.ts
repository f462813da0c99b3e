// Secrets never leave Director: API tokens and the database password are absent from every log line
// (at trace level), every response (errors, probes, metrics, docs) and every run record.
// Uses PostgreSQL (a database of its own, dropped afterwards) since that is where a password lives.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { InjectOptions } from 'fastify';
import { sha256Hex, testConfig } from '../config.js';
import { createDirector, type Director } from '../director.js';
import { createLogger, redactUrl, redactUrlsIn } from '../lib/logger.js';
import { startAssetsServer, type AssetsServer } from '../../test/support/assets-server.js';
import { startDirectorProcess } from '../../test/support/director-process.js';

const PASSWORD = `Pw-${randomBytes(8).toString('hex')}`;
const TOKENS = { viewer: `viewer-${randomBytes(12).toString('hex')}`, admin: `admin-${randomBytes(12).toString('hex')}` };
const WRONG = `wrong-${randomBytes(12).toString('hex')}`;
const TOKENS_ENV = `dash:viewer:${TOKENS.viewer},ops:admin:${TOKENS.admin}`;
const SECRETS = [PASSWORD, TOKENS.viewer, TOKENS.admin, WRONG, sha256Hex(TOKENS.viewer), sha256Hex(TOKENS.admin)];

const adminUrl = process.env.DIRECTOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const database = `director_secrets_${process.pid}_${randomBytes(3).toString('hex')}`;
function databaseUrl(): string {
  const url = new URL(adminUrl);
  url.password = PASSWORD;
  url.pathname = `/${database}`;
  return url.href;
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${where} contains a secret (${secret.slice(0, 6)}…)`);
}

describe('secrets', () => {
  let assets: AssetsServer;
  let dataDir: string;
  before(async () => {
    // Fails loudly when PostgreSQL is missing, as the store tests do: a skipped secrets test proves nothing.
    await admin(`CREATE DATABASE ${database}`);
    assets = await startAssetsServer();
    assets.setScript('ok.js', 'module.exports.main = () => ({ ok: true });');
    assets.setScript('fails.js', 'module.exports.main = () => { throw new Error("boom"); };');
    assets.setScript('env.js', 'module.exports.main = () => { console.log(JSON.stringify(process.env)); return process.env; };');
    dataDir = mkdtempSync(path.join(tmpdir(), 'director-secrets-'));
  });
  after(async () => {
    await assets?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  describe('in process, logging at trace', () => {
    let director: Director;
    let logged = '';
    const responses: string[] = [];
    before(async () => {
      const sink = new Writable({ write(chunk, _enc, done) { logged += String(chunk); done(); } });
      const config = testConfig(
        { dataDir, port: 0, assetsUrl: assets.url, executors: 1, databaseUrl: databaseUrl(), logLevel: 'trace' },
        { DIRECTOR_API_TOKENS: TOKENS_ENV },
      );
      director = await createDirector(config, { logger: createLogger('trace', sink) });
      await director.startScheduling();
    });
    after(async () => director.stop());

    async function send(options: InjectOptions) {
      const response = await director.app.inject(options);
      responses.push(`${response.statusCode} ${JSON.stringify(response.headers)}\n${response.body}`);
      return response;
    }
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    const json = (token: string) => ({ ...as(token), 'content-type': 'application/json' });

    it('keeps tokens and the password out of logs and answers of every kind of request', async () => {
      await send({ method: 'POST', url: '/api/v1/tasks', headers: json(TOKENS.admin), payload: JSON.stringify({ id: 's1', script: 'ok.js', running: false }) });
      await send({ method: 'POST', url: '/api/v1/tasks', headers: json(TOKENS.admin), payload: JSON.stringify({ id: 's2', script: 'fails.js', running: false }) });
      for (const url of ['/api/v1/tasks', '/api/v1/tasks/s1', '/api/v1/tasks/s1/status', '/api/v1/whoami', '/metrics', '/ready', '/health', '/info', '/commons', '/docs/json', '/api/v1/nope']) {
        for (const token of [TOKENS.viewer, TOKENS.admin, WRONG]) await send({ method: 'GET', url, headers: as(token) });
      }
      await send({ method: 'POST', url: '/api/v1/tasks/s1/run', headers: as(TOKENS.admin) });
      const failed = await send({ method: 'POST', url: '/api/v1/tasks/s2/run', headers: as(TOKENS.admin) });
      assert.equal(failed.statusCode, 500, 'a failing script answers 500 (with its error and logs)');
      await send({ method: 'POST', url: '/api/v1/tasks/s1/run', headers: as(TOKENS.viewer) });
      await send({ method: 'POST', url: '/api/v1/tasks', headers: json(TOKENS.admin), payload: '{"bad json' });
      await send({ method: 'PUT', url: '/api/v1/tasks/s1', headers: json(TOKENS.admin), payload: JSON.stringify({ script: 12 }) });
      await send({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: `Basic ${TOKENS.admin}` } });
      await send({ method: 'GET', url: '/api/v1/tasks', headers: { authorization: `Bearer ${TOKENS.admin}x` } });
      const runs = await director.store.listRuns('s2');
      await send({ method: 'GET', url: `/api/v1/tasks/s2/runs/${runs[0]!.id}`, headers: as(TOKENS.viewer) });

      assert.ok(logged.length > 0, 'something was logged');
      assertNoSecret(logged, 'the log');
      for (const response of responses) assertNoSecret(response, `a response (${response.slice(0, 60)})`);
    });

    it('keeps Director\'s environment out of a strict script and its run record', async () => {
      await send({ method: 'POST', url: '/api/v1/tasks', headers: json(TOKENS.admin), payload: JSON.stringify({ id: 'env', script: 'env.js', running: false }) });
      const run = await send({ method: 'POST', url: '/api/v1/tasks/env/run', headers: as(TOKENS.admin) });
      assert.equal(run.statusCode, 200);
      const [record] = await director.store.listRuns('env');
      assertNoSecret(JSON.stringify(record), 'the run record');
      assertNoSecret(run.body, 'the /run answer');
      assertNoSecret(logged, 'the log');
    });
  });

  it('a real process logs its start-up, probes and stop without the password or tokens', async () => {
    const processDir = mkdtempSync(path.join(tmpdir(), 'director-secrets-process-'));
    const director = await startDirectorProcess({
      DIRECTOR_DATABASE_URL: databaseUrl(), DIRECTOR_API_TOKENS: TOKENS_ENV, DIRECTOR_ASSETS_URL: assets.url,
      DIRECTOR_DATA_DIR: processDir, DIRECTOR_EXECUTORS: '1', LOG_LEVEL: 'trace',
    });
    try {
      for (const url of ['/ready', '/health', '/info', '/api/v1/whoami', '/metrics']) {
        const response = await fetch(`${director.url}${url}`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
        const text = await response.text();
        assert.ok(response.status < 500, `${url}: ${response.status}`);
        assertNoSecret(`${JSON.stringify([...response.headers])}${text}`, `${url} answer`);
      }
      assert.match(director.output(), /"store":"postgres"/);
    } finally {
      director.kill('SIGTERM');
      assert.equal(await director.exited, 0);
      rmSync(processDir, { recursive: true, force: true });
    }
    assertNoSecret(director.output(), 'the process output');
  });

  it('an unreachable database fails start-up naming the host, not the password', async () => {
    const url = new URL(databaseUrl());
    url.port = '1';
    const error = await startDirectorProcess({ DIRECTOR_DATABASE_URL: url.href, DIRECTOR_DATA_DIR: dataDir }).then(
      () => assert.fail('Director started without its database'),
      (failure: unknown) => String(failure),
    );
    assert.match(error, /127\.0\.0\.1:1/);
    assertNoSecret(error, 'the start-up failure');
  });
});

describe('log redaction', () => {
  function capture() {
    let text = '';
    const logger = createLogger('trace', new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } }));
    return { logger, text: () => text };
  }

  it('censors authorization headers, cookies, tokens and database URLs by path', () => {
    const { logger, text } = capture();
    logger.info({ req: { headers: { authorization: `Bearer ${TOKENS.admin}`, cookie: `s=${TOKENS.viewer}` } } }, 'request');
    logger.info({ headers: { authorization: `Bearer ${TOKENS.admin}` } }, 'headers');
    logger.info({ databaseUrl: `postgres://u:${PASSWORD}@h/db`, token: TOKENS.viewer, password: PASSWORD }, 'fields');
    logger.info({ config: { databaseUrl: `postgres://u:${PASSWORD}@h/db`, apiTokens: [{ sha256: sha256Hex(TOKENS.admin) }] } }, 'config');
    assertNoSecret(text(), 'the log');
    assert.match(text(), /\[redacted\]/);
  });

  it('masks passwords of URLs inside error messages and stacks', () => {
    const { logger, text } = capture();
    logger.error({ err: new Error(`connect to postgres://director:${PASSWORD}@db:5432/x failed`) }, 'store failed');
    assertNoSecret(text(), 'the log');
    assert.match(text(), /postgres:\/\/director:\*\*\*@db:5432\/x/);
  });

  it('redactUrl masks only the password', () => {
    assert.equal(redactUrl(`postgres://director:${PASSWORD}@db:5432/x?ssl=true`), 'postgres://director:***@db:5432/x?ssl=true');
    assert.equal(redactUrl('postgres://director@db/x'), 'postgres://director@db/x');
    assert.equal(redactUrlsIn(`a postgresql://u:${PASSWORD}@h/db and https://x:y@z/`), 'a postgresql://u:***@h/db and https://x:***@z/');
  });
});

describe('trusted scripts', () => {
  it('do not receive Director\'s own secrets in their environment', async () => {
    const assets = await startAssetsServer();
    assets.setScript('env.js', 'module.exports.main = () => process.env;');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'director-secrets-trusted-'));
    const director = await startDirectorProcess({
      DIRECTOR_API_TOKENS: TOKENS_ENV, DIRECTOR_ASSETS_URL: assets.url, DIRECTOR_DATA_DIR: dataDir,
      DIRECTOR_EXECUTORS: '1', DIRECTOR_SCRIPT_POLICY: 'trusted',
    });
    try {
      const headers = { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' };
      const created = await fetch(`${director.url}/api/v1/tasks`, { method: 'POST', headers, body: JSON.stringify({ id: 'env', script: 'env.js', running: false }) });
      assert.equal(created.status, 200);
      const run = await fetch(`${director.url}/api/v1/tasks/env/run`, { method: 'POST', headers: { authorization: headers.authorization } });
      assert.equal(run.status, 200);
      assertNoSecret(await run.text(), 'a trusted script\'s result');
    } finally {
      director.kill('SIGTERM');
      await director.exited;
      await assets.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
