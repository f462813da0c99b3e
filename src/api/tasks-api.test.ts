// The task API in-process: CRUD, upsert rules, filters, bad input (always 4xx, nothing stored), restart.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../test/support/director-harness.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('task API', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.assets.setScript('hello.js', 'module.exports.main = (config) => ({ hello: config.name ?? "world" });');
  });
  after(async () => h.close());

  async function count(): Promise<number> {
    const list = await h.call('GET', '/api/v1/tasks');
    return list.body.length;
  }

  it('creates a task without id with a generated UUID v4, and returns it on GET', async () => {
    const created = await h.call('POST', '/api/v1/tasks', { script: 'hello.js', running: false, config: {} });
    assert.equal(created.status, 200);
    assert.match(created.body.id, UUID_V4);
    const got = await h.call('GET', `/api/v1/tasks/${created.body.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, { script: 'hello.js', running: false, config: {}, id: created.body.id });
    const deleted = await h.call('DELETE', `/api/v1/tasks/${created.body.id}`);
    assert.equal(deleted.status, 202);
    assert.deepEqual(deleted.body, { code: 202, message: 'Deleted' });
    assert.equal((await h.call('GET', `/api/v1/tasks/${created.body.id}`)).status, 404);
  });

  it('keeps every field verbatim, unknown ones included', async () => {
    const body = {
      id: 'verbatim-1', script: 'hello.js', running: '', init: '2023-02-09T00:00:00', end: '2099-07-18T23:59:59', interval: '5000',
      configuration: { k: 1 }, tags: { simple: ['a'], keyValue: { type: 'x' } }, code: 0, message: 'message', nested: [1, { a: null }],
    };
    const created = await h.call('POST', '/api/v1/tasks/', body);
    assert.equal(created.status, 200);
    assert.deepEqual(created.body, body);
    assert.deepEqual((await h.call('GET', '/api/v1/tasks/verbatim-1')).body, body);
  });

  it('answers 404 JSON for an unknown id on every task route', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/tasks/nope'], ['DELETE', '/api/v1/tasks/nope'], ['GET', '/api/v1/tasks/nope/status'],
      ['POST', '/api/v1/tasks/nope/status/start'], ['GET', '/api/v1/tasks/nope/badge'], ['GET', '/api/v1/tasks/nope/runs'],
      ['GET', '/api/v1/tasks/nope/slots'],
    ] as const) {
      const response = await h.call(method, url);
      assert.equal(response.status, 404, `${method} ${url}`);
      assert.equal(response.body.code, 404);
      assert.equal(response.body.message, 'Not Found');
    }
    const put = await h.call('PUT', '/api/v1/tasks/nope', { script: 'hello.js' });
    assert.equal(put.status, 404);
  });

  it('upserts on POST of an existing id and rejects an identical repeat with "Task already exists"', async () => {
    const body = { id: 'toggle-1', script: 'hello.js', running: true, interval: 3600000, config: { a: 1 } };
    assert.equal((await h.call('POST', '/api/v1/tasks', body)).status, 200);
    const repeat = await h.call('POST', '/api/v1/tasks', body);
    assert.equal(repeat.status, 400);
    assert.deepEqual({ code: repeat.body.code, message: repeat.body.message }, { code: 400, message: 'Task already exists' });
    const toggled = await h.call('POST', '/api/v1/tasks', { ...body, running: false });
    assert.equal(toggled.status, 200);
    assert.equal((await h.call('GET', '/api/v1/tasks/toggle-1')).body.running, false);
    assert.equal((await h.call('GET', '/api/v1/tasks/toggle-1/status')).body.running, false);
  });

  it('rejects a repeat without id when an existing task has the same fields', async () => {
    const body = { script: 'hello.js', running: false, config: { unique: 'no-id-repeat' } };
    assert.equal((await h.call('POST', '/api/v1/tasks', body)).status, 200);
    const repeat = await h.call('POST', '/api/v1/tasks', body);
    assert.equal(repeat.status, 400);
    assert.equal(repeat.body.message, 'Task already exists');
  });

  it('replaces a task on PUT, keeping the path id when the body has none', async () => {
    await h.call('POST', '/api/v1/tasks', { id: 'put-1', script: 'hello.js', running: false, extra: true });
    const put = await h.call('PUT', '/api/v1/tasks/put-1', { script: 'hello.js', running: false, config: { b: 2 } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { code: 201, message: 'Updated' });
    assert.deepEqual((await h.call('GET', '/api/v1/tasks/put-1')).body, { id: 'put-1', script: 'hello.js', running: false, config: { b: 2 } });
    const mismatch = await h.call('PUT', '/api/v1/tasks/put-1', { id: 'other', script: 'hello.js' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.field, 'id');
  });

  it('lists tasks with ?field=value filters and limit/offset', async () => {
    for (const i of [1, 2, 3]) {
      await h.call('POST', '/api/v1/tasks', { id: `list-${i}`, script: 'hello.js', group: i === 2 ? 'b' : 'a', running: false });
    }
    const filtered = await h.call('GET', '/api/v1/tasks?group=a');
    assert.deepEqual(filtered.body.map((t: { id: string }) => t.id).sort(), ['list-1', 'list-3']);
    const page = await h.call('GET', '/api/v1/tasks?group=a&limit=1&offset=1');
    assert.equal(page.body.length, 1);
    assert.equal((await h.call('GET', '/api/v1/tasks?group=zzz')).body.length, 0);
    assert.equal((await h.call('GET', '/api/v1/tasks?limit=x')).status, 400);
  });

  it('answers status with running, nextExecution as an epoch-ms string and run counts', async () => {
    const init = Date.now() + 3_600_000;
    await h.call('POST', '/api/v1/tasks', { id: 'status-1', script: 'hello.js', running: true, init, interval: 60_000 });
    const status = await h.call('GET', '/api/v1/tasks/status-1/status');
    assert.equal(status.status, 200);
    assert.equal(status.body.id, 'status-1');
    assert.equal(status.body.running, true);
    assert.equal(status.body.nextExecution, String(init));
    assert.equal(status.body.nextExecutionDate, new Date(init).toISOString());
    assert.equal(status.body.consecutiveFailures, 0);
    const slots = await h.call('GET', '/api/v1/tasks/status-1/slots?count=3');
    assert.deepEqual(slots.body.slots.map((s: { ms: number }) => s.ms), [init, init + 60_000, init + 120_000]);
  });

  it('tolerates trailing slashes on every route', async () => {
    await h.call('POST', '/api/v1/tasks/', { id: 'slash-1', script: 'hello.js', running: false });
    assert.equal((await h.call('GET', '/api/v1/tasks/')).status, 200);
    assert.equal((await h.call('GET', '/api/v1/tasks/slash-1/')).status, 200);
    assert.equal((await h.call('GET', '/api/v1/tasks/slash-1/status/')).status, 200);
  });

  it('answers the whole outcome, logs included, with ?details=true', async () => {
    const ok = await h.call('POST', '/api/v1/tasks/test?details=true', { scriptText: 'module.exports.main = () => { console.log("said"); return 7; }', scriptConfig: {} });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'succeeded');
    assert.equal(ok.body.result, 7);
    assert.match(ok.body.logs, /said/);
    const failed = await h.call('POST', '/api/v1/tasks/test?details=true', { scriptText: 'module.exports.main = () => { throw new Error("no") }' });
    assert.equal(failed.status, 500);
    assert.equal(failed.body.error.stage, 'run');
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await h.call('GET', '/docs/json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi.startsWith('3'), true);
    assert.ok(doc.body.paths['/api/v1/tasks/{id}/status']);
    assert.equal((await h.request({ method: 'GET', url: '/docs/' })).statusCode, 200);
  });

  describe('bad input gets a 400 naming the field and stores nothing', () => {
    const cases: Array<[string, unknown, string | undefined]> = [
      ['interval 0', { script: 'hello.js', interval: 0 }, 'interval'],
      ['negative interval', { script: 'hello.js', interval: -5 }, 'interval'],
      ['non-numeric interval', { script: 'hello.js', interval: 'abc' }, 'interval'],
      ['NaN-like interval', { script: 'hello.js', interval: 'NaN' }, 'interval'],
      ['fractional interval', { script: 'hello.js', interval: 1.5 }, 'interval'],
      ['unparseable init', { script: 'hello.js', init: 'yesterday' }, 'init'],
      ['unparseable end', { script: 'hello.js', end: '2023-13-45T99:00:00' }, 'end'],
      ['end before init', { script: 'hello.js', init: '2024-01-02T00:00:00Z', end: '2024-01-01T00:00:00Z' }, 'end'],
      ['end equal to init', { script: 'hello.js', init: 1000, end: 1000 }, 'end'],
      ['id with a slash', { id: 'a/b', script: 'hello.js' }, 'id'],
      ['id with a backslash', { id: 'a\\b', script: 'hello.js' }, 'id'],
      ['id with NUL', { id: 'a\u0000b', script: 'hello.js' }, 'id'],
      ['id with ..', { id: '..', script: 'hello.js' }, 'id'],
      ['id over 200 characters', { id: 'x'.repeat(201), script: 'hello.js' }, 'id'],
      ['numeric id', { id: 5, script: 'hello.js' }, 'id'],
      ['missing script', { running: false }, 'script'],
      ['script with a foreign protocol', { script: 'file:///etc/passwd' }, 'script'],
      ['script escaping the assets folder', { script: '../secret.js' }, 'script'],
      ['bad overlap', { script: 'hello.js', overlap: 'sometimes' }, 'overlap'],
      ['bad retries', { script: 'hello.js', retries: { max: -1 } }, 'retries.max'],
      ['array body', [1, 2], undefined],
      ['string body', 'just text', undefined],
      ['number body', 5, undefined],
      ['null body', null, undefined],
    ];
    for (const [name, body, field] of cases) {
      it(`rejects ${name}`, async () => {
        const before = await count();
        const response = await h.call('POST', '/api/v1/tasks', JSON.stringify(body));
        assert.equal(response.status, 400, JSON.stringify(response.body));
        assert.equal(response.body.code, 400);
        assert.equal(typeof response.body.message, 'string');
        if (field) assert.equal(response.body.field, field, response.body.message);
        assert.equal(await count(), before);
      });
    }

    it('rejects invalid JSON', async () => {
      const response = await h.request({ method: 'POST', url: '/api/v1/tasks', payload: '{"id": "x", ', headers: { 'content-type': 'application/json' } });
      assert.equal(response.statusCode, 400);
      assert.match(JSON.parse(response.body).message, /not valid JSON/);
    });

    it('rejects a body over the limit with 413 JSON', async () => {
      const big = JSON.stringify({ script: 'hello.js', blob: 'x'.repeat(h.config.bodyLimitBytes) });
      const response = await h.request({ method: 'POST', url: '/api/v1/tasks', payload: big, headers: { 'content-type': 'application/json' } });
      assert.equal(response.statusCode, 413);
      assert.equal(JSON.parse(response.body).code, 413);
    });

    it('accepts a body of 10 MB', async () => {
      const body = { id: 'big-1', script: 'hello.js', running: false, blob: 'y'.repeat(10_000_000) };
      const response = await h.request({ method: 'POST', url: '/api/v1/tasks', payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      assert.equal(response.statusCode, 200);
      await h.call('DELETE', '/api/v1/tasks/big-1');
    });
  });

  it('keeps what was stored across a restart', async () => {
    await h.call('POST', '/api/v1/tasks', { id: 'persist-1', script: 'hello.js', running: false, config: { keep: true } });
    h = await h.restart();
    const got = await h.call('GET', '/api/v1/tasks/persist-1');
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.config, { keep: true });
  });
});
