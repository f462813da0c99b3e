// Secrets in tasks stay out of a viewer's reach: config values with secret-looking keys and URL
// passwords are masked in what viewers read (tasks, runs, the event stream), operators and admins see
// the task as stored, and no log line (at trace) carries those values. Real HTTP on loopback.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { testConfig } from '../config.js';
import { createDirector, type Director } from '../director.js';
import { createLogger } from '../lib/logger.js';
import { startAssetsServer, type AssetsServer } from '../../test/support/assets-server.js';
import { createDocMasker, MASK } from './mask-secrets.js';

const TOKENS = { viewer: 'viewer-token-0123456789abcdef', operator: 'operator-token-0123456789abcdef', admin: 'admin-token-0123456789abcdef' };
const SECRETS = ['S3cret-db-pass', 'S3cret-api-key', 'S3cret-nested', 'S3cret-in-url', 'S3cret-configuration', 'S3cret-script-url', 'S3cret-in-array'];

function task(assetsUrl: string) {
  const assets = new URL(assetsUrl);
  return {
    id: 'billing',
    script: 'ok.js',
    running: false,
    tags: { keyValue: { type: 'tpaCalculation', courseId: 'c1' } },
    config: {
      dbPassword: SECRETS[0],
      apiKey: SECRETS[1],
      nested: { auth: { user: 'u', pass: SECRETS[2] }, list: [{ token: SECRETS[6] }] },
      endpoint: `https://reporter:${SECRETS[3]}@reporter.example/api`,
      plain: 'visible',
      limit: 10,
    },
    configuration: { clientSecret: SECRETS[4] },
    // Its script comes from a URL with a password: the run records it, and its fetch fails quoting it.
    mirror: `http://user:${SECRETS[5]}@${assets.host}/missing.js`,
  };
}

describe('secrets in tasks', () => {
  let assets: AssetsServer;
  let dataDir: string;
  let director: Director;
  let base = '';
  let logged = '';
  before(async () => {
    assets = await startAssetsServer();
    assets.setScript('ok.js', 'module.exports.main = (config) => ({ keys: Object.keys(config) });');
    dataDir = mkdtempSync(path.join(tmpdir(), 'director-masking-'));
    const sink = new Writable({ write(chunk, _enc, done) { logged += String(chunk); done(); } });
    const config = testConfig(
      { dataDir, port: 0, assetsUrl: assets.url, executors: 1, logLevel: 'trace' },
      { DIRECTOR_API_TOKENS: `v:viewer:${TOKENS.viewer},o:operator:${TOKENS.operator},a:admin:${TOKENS.admin}` },
    );
    director = await createDirector(config, { logger: createLogger('trace', sink) });
    base = await director.start();
  });
  after(async () => {
    await director?.stop();
    await assets?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const as = (role: keyof typeof TOKENS, init: RequestInit = {}) => ({ ...init, headers: { authorization: `Bearer ${TOKENS[role]}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } });
  const call = (role: keyof typeof TOKENS, url: string, init: RequestInit = {}) => fetch(`${base}${url}`, as(role, init));

  it('masks secret-looking config values and URL passwords for viewers; operators and admins see everything', async () => {
    const doc = task(assets.url);
    const created = await call('admin', '/api/v1/tasks', { method: 'POST', body: JSON.stringify(doc) });
    assert.equal(created.status, 200);

    const single = await (await call('viewer', '/api/v1/tasks/billing')).text();
    const list = await (await call('viewer', '/api/v1/tasks')).text();
    for (const text of [single, list]) for (const secret of SECRETS) assert.ok(!text.includes(secret), `a viewer reads ${secret}`);
    const shown = JSON.parse(single);
    assert.equal(shown.config.dbPassword, MASK);
    assert.equal(shown.config.apiKey, MASK);
    assert.equal(shown.config.nested.auth, MASK, 'a matching key masks its whole value');
    assert.equal(shown.config.nested.list[0].token, MASK);
    assert.equal(shown.config.endpoint, `https://reporter:${MASK}@reporter.example/api`);
    assert.equal(shown.config.plain, 'visible');
    assert.equal(shown.config.limit, 10);
    assert.equal(shown.configuration.clientSecret, MASK);
    assert.deepEqual(shown.tags, doc.tags, 'tags.keyValue is not config: TPA-Manager groups by it');
    assert.equal(shown.mirror, doc.mirror.replace(SECRETS[5]!, MASK));

    for (const role of ['operator', 'admin'] as const) {
      assert.deepEqual(await (await call(role, '/api/v1/tasks/billing')).json(), doc, role);
      assert.deepEqual(((await (await call(role, '/api/v1/tasks')).json()) as unknown[])[0], doc, role);
    }
  });

  it('keeps those values out of the event stream and out of every log line', async () => {
    const doc = task(assets.url);
    const stream = await call('viewer', '/api/v1/events');
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    let received = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        received += new TextDecoder().decode(value);
      }
    })().catch(() => undefined);

    assert.equal((await call('admin', '/api/v1/tasks/billing', { method: 'PUT', body: JSON.stringify({ ...doc, running: false, note: 'edited' }) })).status, 200);
    assert.equal((await call('operator', '/api/v1/tasks/billing/run', { method: 'POST' })).status, 200);
    // A task whose script URL carries a password: its fetch fails, quoting the URL.
    const failing = { id: 'fetches', script: doc.mirror, running: false, config: { password: SECRETS[0] } };
    assert.equal((await call('admin', '/api/v1/tasks', { method: 'POST', body: JSON.stringify(failing) })).status, 200);
    assert.equal((await call('operator', '/api/v1/tasks/fetches/run', { method: 'POST' })).status, 500);
    // Bodies that are not JSON are quoted by the parser's message: it must not reach the log.
    assert.equal((await call('admin', '/api/v1/tasks', { method: 'POST', body: SECRETS[1] })).status, 400);
    assert.equal((await call('admin', '/api/v1/tasks', { method: 'POST', body: `{"config":{"password":"${SECRETS[2]}"} x` })).status, 400);

    const runs = await (await call('viewer', '/api/v1/tasks/fetches/runs')).text();
    const runId = JSON.parse(runs).runs[0].id as number;
    const run = await (await call('viewer', `/api/v1/tasks/fetches/runs/${runId}`)).text();
    for (const text of [runs, run]) for (const secret of SECRETS) assert.ok(!text.includes(secret), `a viewer reads ${secret} in a run`);
    assert.match(run, /\*\*\*@/, 'the URL is shown, its password masked');

    await new Promise((resolve) => setTimeout(resolve, 300));
    await reader.cancel();
    await reading;
    assert.match(received, /event: run:finished/);
    assert.match(received, /event: task:changed/);
    for (const secret of SECRETS) {
      assert.ok(!received.includes(secret), `the event stream carries ${secret}`);
      assert.ok(!logged.includes(secret), `the log carries ${secret}: ${logged.split("\n").filter((l) => l.includes(secret)).join("\n").slice(0, 1500)}`);
    }
    assert.ok(logged.length > 0);
  });

  it('can be configured: another pattern, or URL passwords only', () => {
    const doc = { config: { pin: '1234', password: 'p', url: 'postgres://u:pw@db/x' } };
    assert.deepEqual(createDocMasker('pin').call(null, doc), { config: { pin: MASK, password: 'p', url: `postgres://u:${MASK}@db/x` } });
    assert.deepEqual(createDocMasker(null).call(null, doc), { config: { pin: '1234', password: 'p', url: `postgres://u:${MASK}@db/x` } });
  });
});
