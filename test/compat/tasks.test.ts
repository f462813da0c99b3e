// COMPAT statements 1–12: transport and task storage, with the real payloads of Governify's clients.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { startHarness, type Harness } from '../support/director-harness.js';
import { payloads } from './payloads.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('COMPAT 1–12: transport and tasks', () => {
  let h: Harness;
  before(async () => {
    // As a Governify deployment runs it: its UIs call Director from other origins (README, migrating).
    h = await startHarness({ env: { DIRECTOR_CORS_ORIGINS: '*' } });
    h.assets.setScript('check-status.js', 'module.exports.main = () => ({ ok: true });');
  });
  after(async () => h.close());

  it('COMPAT 1: port defaults to 5800 and every route answers with or without a trailing slash', async () => {
    assert.equal(loadConfig({}).port, 5800);
    assert.equal(loadConfig({ PORT: '80' }).port, 80);
    await h.call('POST', '/api/v1/tasks/', { id: 'c1', script: 'check-status.js', running: false });
    for (const url of ['/api/v1/tasks', '/api/v1/tasks/', '/api/v1/tasks/c1', '/api/v1/tasks/c1/', '/api/v1/tasks/c1/status', '/api/v1/tasks/c1/status/']) {
      assert.equal((await h.call('GET', url)).status, 200, url);
    }
  });

  it('COMPAT 2: with DIRECTOR_CORS_ORIGINS=* every response allows any origin and a preflight answers 204', async () => {
    const get = await h.request({ method: 'GET', url: '/api/v1/tasks', headers: { origin: 'http://admin.example' } });
    assert.equal(get.headers['access-control-allow-origin'], '*');
    const missing = await h.request({ method: 'GET', url: '/api/v1/tasks/none', headers: { origin: 'http://admin.example' } });
    assert.equal(missing.headers['access-control-allow-origin'], '*');
    const preflight = await h.request({
      method: 'OPTIONS', url: '/api/v1/tasks/c1/status/switch',
      headers: { origin: 'http://admin.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    // The Admin UI's cross-origin writes go through.
    const origin = { origin: 'http://admin.example', 'content-type': 'application/json' };
    const created = await h.request({ method: 'POST', url: '/api/v1/tasks/', headers: origin, payload: JSON.stringify({ id: 'c2', script: 'check-status.js', running: '' }) });
    assert.equal(created.statusCode, 200);
    const switched = await h.request({ method: 'POST', url: '/api/v1/tasks/c2/status/switch', headers: { origin: 'http://admin.example' } });
    assert.equal(switched.statusCode, 200);
    assert.equal((await h.request({ method: 'DELETE', url: '/api/v1/tasks/c2', headers: { origin: 'http://admin.example' } })).statusCode, 202);
  });

  it('COMPAT 3: a 10 MB body is accepted; a body over the limit gets 413 JSON', async () => {
    const big = { id: 'c3', script: 'check-status.js', running: false, blob: 'z'.repeat(10 * 1000 * 1000) };
    const ok = await h.request({ method: 'POST', url: '/api/v1/tasks', payload: JSON.stringify(big), headers: { 'content-type': 'application/json' } });
    assert.equal(ok.statusCode, 200);
    const small = await startHarness({ env: { DIRECTOR_BODY_LIMIT: '2048' } });
    try {
      const tooBig = await small.request({ method: 'POST', url: '/api/v1/tasks', payload: JSON.stringify({ script: 'x.js', blob: 'z'.repeat(4096) }), headers: { 'content-type': 'application/json' } });
      assert.equal(tooBig.statusCode, 413);
      assert.equal(JSON.parse(tooBig.body).code, 413);
    } finally {
      await small.close();
    }
  });

  it('COMPAT 4: a POST keeps every field verbatim and GET returns it deep-equal', async () => {
    for (const body of [payloads.adminUiCreate, payloads.tpaRenderActivation, payloads.tpaManagerCalculation, payloads.tpaManagerEmail]) {
      const created = await h.call('POST', '/api/v1/tasks', body);
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.deepEqual(created.body, body);
      assert.deepEqual((await h.call('GET', `/api/v1/tasks/${body.id}`)).body, body);
    }
  });

  it('COMPAT 5: a POST without id, or with id "", gets a UUID v4 returned in the body', async () => {
    const none = await h.call('POST', '/api/v1/tasks', { script: 'check-status.js', running: false, config: { n: 1 } });
    const empty = await h.call('POST', '/api/v1/tasks', { id: '', script: 'check-status.js', running: false, config: { n: 2 } });
    assert.match(none.body.id, UUID_V4);
    assert.match(empty.body.id, UUID_V4);
    assert.notEqual(none.body.id, empty.body.id);
    assert.equal((await h.call('GET', `/api/v1/tasks/${empty.body.id}`)).status, 200);
  });

  it('COMPAT 6: new id → 200; identical repeat → 400 "Task already exists"; changed repeat → upsert, schedule recomputed', async () => {
    const body = { ...payloads.tpaManagerCalculation, id: 'c6', end: '2099-01-01T00:00:00.000Z' };
    assert.equal((await h.call('POST', '/api/v1/tasks', body)).status, 200);
    const repeat = await h.call('POST', '/api/v1/tasks', body);
    assert.equal(repeat.status, 400);
    assert.equal(repeat.body.code, 400);
    assert.equal(repeat.body.message, 'Task already exists');
    assert.notEqual((await h.call('GET', '/api/v1/tasks/c6/status')).body.nextExecution, null);
    const off = await h.call('POST', '/api/v1/tasks', { ...body, running: false });
    assert.equal(off.status, 200);
    const status = (await h.call('GET', '/api/v1/tasks/c6/status')).body;
    assert.equal(status.running, false);
    assert.equal(status.nextExecution, null);
  });

  it('COMPAT 7: dates with Z, with an offset, without one (UTC) and epoch ms; numeric-string intervals; no interval = on-demand', async () => {
    const forms: Array<[unknown, number]> = [
      ['2030-01-01T00:00:00Z', Date.UTC(2030, 0, 1)],
      ['2030-01-01T02:00:00+02:00', Date.UTC(2030, 0, 1)],
      ['2030-01-01T00:00:00', Date.UTC(2030, 0, 1)],
      [Date.UTC(2030, 0, 1), Date.UTC(2030, 0, 1)],
    ];
    for (const [i, [init, expected]] of forms.entries()) {
      await h.call('POST', '/api/v1/tasks', { id: `c7-${i}`, script: 'check-status.js', running: true, init, interval: '5000' });
      const status = (await h.call('GET', `/api/v1/tasks/c7-${i}/status`)).body;
      assert.equal(status.nextExecution, String(expected), `init ${String(init)}`);
      assert.equal(status.interval, 5000);
    }
    const before = Date.now();
    await h.call('POST', '/api/v1/tasks', { id: 'c7-noinit', script: 'check-status.js', running: true, interval: 60_000 });
    const next = Number((await h.call('GET', '/api/v1/tasks/c7-noinit/status')).body.nextExecution);
    assert.ok(next >= before + 60_000 && next <= Date.now() + 60_000, 'first run one interval after creation');
    await h.call('POST', '/api/v1/tasks', { id: 'c7-ondemand', script: 'check-status.js', running: true });
    const onDemand = (await h.call('GET', '/api/v1/tasks/c7-ondemand/status')).body;
    assert.equal(onDemand.onDemand, true);
    assert.equal(onDemand.nextExecution, null);
  });

  it('COMPAT 8: invalid values get a 400 naming the field and nothing is stored', async () => {
    const before = (await h.call('GET', '/api/v1/tasks')).body.length;
    const bad: Array<[unknown, string | null]> = [
      [{ script: 'a.js', interval: 0 }, 'interval'], [{ script: 'a.js', interval: 'NaN' }, 'interval'],
      [{ script: 'a.js', init: 'not a date' }, 'init'], [{ script: 'a.js', init: 2000, end: 1000 }, 'end'],
      ['"text"', null], [[], null], [{ id: '../../etc/x', script: 'a.js' }, 'id'], [{ id: 'a\\b', script: 'a.js' }, 'id'],
      [{ id: 'nul\u0000', script: 'a.js' }, 'id'], [{ id: 'x'.repeat(201), script: 'a.js' }, 'id'],
    ];
    for (const [body, field] of bad) {
      const response = await h.call('POST', '/api/v1/tasks', typeof body === 'string' ? body : JSON.stringify(body));
      assert.equal(response.status, 400, JSON.stringify(body).slice(0, 80));
      if (field) assert.equal(response.body.field, field);
    }
    assert.equal((await h.call('GET', '/api/v1/tasks')).body.length, before);
  });

  it('COMPAT 9: list is [] when empty, filters on string fields; unknown id → 404 {"code":404,"message":"Not Found"}', async () => {
    const empty = await startHarness();
    try {
      const list = await empty.call('GET', '/api/v1/tasks');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, []);
    } finally {
      await empty.close();
    }
    const byScript = (await h.call('GET', `/api/v1/tasks?script=${encodeURIComponent(payloads.tpaManagerEmail.script)}`)).body;
    assert.deepEqual(byScript.map((t: { id: string }) => t.id), [payloads.tpaManagerEmail.id]);
    const missing = await h.call('GET', '/api/v1/tasks/does-not-exist');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 404);
    assert.equal(missing.body.message, 'Not Found');
  });

  it('COMPAT 10: PUT unknown → 404; PUT → 200 {"code":201,"message":"Updated"}, body without id keeps the path id', async () => {
    assert.equal((await h.call('PUT', '/api/v1/tasks/nobody', { script: 'a.js' })).status, 404);
    await h.call('POST', '/api/v1/tasks', { id: 'c10', script: 'check-status.js', running: false });
    const put = await h.call('PUT', '/api/v1/tasks/c10', { script: 'check-status.js', running: false, config: { v: 2 } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { code: 201, message: 'Updated' });
    assert.deepEqual((await h.call('GET', '/api/v1/tasks/c10')).body, { id: 'c10', script: 'check-status.js', running: false, config: { v: 2 } });
    assert.equal((await h.call('GET', '/api/v1/tasks/undefined')).status, 404);
  });

  it('COMPAT 11: DELETE → 202 {"code":202,"message":"Deleted"}; unknown → 404', async () => {
    await h.call('POST', '/api/v1/tasks', { id: 'c11', script: 'check-status.js', running: true, interval: 1000 });
    const deleted = await h.call('DELETE', '/api/v1/tasks/c11');
    assert.equal(deleted.status, 202);
    assert.deepEqual(deleted.body, { code: 202, message: 'Deleted' });
    assert.equal((await h.call('DELETE', '/api/v1/tasks/c11')).status, 404);
  });

  it('COMPAT 12: 50 concurrent POSTs (a TPA-Manager bulk toggle) are all stored', async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => ({ ...payloads.tpaManagerCalculation, id: `bulk-${i}`, running: i % 2 === 0 }));
    const responses = await Promise.all(bodies.map((b) => h.call('POST', '/api/v1/tasks', b)));
    assert.deepEqual(responses.map((r) => r.status), Array(50).fill(200));
    for (const body of bodies) assert.deepEqual((await h.call('GET', `/api/v1/tasks/${body.id}`)).body, body);
    // The crash half of this statement is test/durability.test.ts (a real process killed with SIGKILL).
    assert.ok(readFileSync(new URL('../durability.test.ts', import.meta.url), 'utf8').includes('SIGKILL'));
  });
});
