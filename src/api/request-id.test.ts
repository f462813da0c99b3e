// Request ids: echoed on every answer, kept from a sane x-request-id, carried by the request's log lines.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { testConfig } from '../config.js';
import { createDirector } from '../director.js';
import { createLogger } from '../lib/logger.js';
import { requestId } from './request-id.js';
import { startHarness } from '../../test/support/director-harness.js';

const incoming = (value: string | undefined) => ({ headers: value === undefined ? {} : { 'x-request-id': value } }) as unknown as IncomingMessage;

describe('request ids', () => {
  it('keeps a sane incoming id and replaces anything else', () => {
    assert.equal(requestId(incoming('abc-123_x.y:z')), 'abc-123_x.y:z');
    for (const bad of ['', 'a'.repeat(129), 'sp ace', 'ünï', 'a\u0000b', '<script>']) {
      const id = requestId(incoming(bad));
      assert.notEqual(id, bad);
      assert.match(id, /^[0-9a-f-]{36}$/);
    }
    assert.match(requestId(incoming(undefined)), /^[0-9a-f-]{36}$/);
  });

  it('echoes the id on successes, errors and 404s', async () => {
    const h = await startHarness();
    try {
      for (const url of ['/health', '/api/v1/tasks/nope', '/nothing']) {
        const given = await h.request({ method: 'GET', url, headers: { 'x-request-id': 'trace-42' } });
        assert.equal(given.headers['x-request-id'], 'trace-42', url);
        const generated = await h.request({ method: 'GET', url });
        assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/, url);
      }
      const bad = await h.request({ method: 'POST', url: '/api/v1/tasks', headers: { 'content-type': 'application/json', 'x-request-id': 'trace-43' }, payload: '{' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.headers['x-request-id'], 'trace-43');
    } finally {
      await h.close();
    }
  });

  it('tags the log lines of a request with its id', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'director-reqid-'));
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const director = await createDirector(testConfig({ dataDir, port: 0, executors: 1 }), { logger: createLogger('info', sink) });
    try {
      await director.app.inject({ method: 'POST', url: '/api/v1/tasks', headers: { 'content-type': 'application/json', 'x-request-id': 'trace-44' }, payload: '{' });
      const rejected = lines.find((line) => line.msg === 'request rejected');
      assert.equal(rejected?.reqId, 'trace-44');
    } finally {
      await director.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
