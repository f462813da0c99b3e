// COMPAT statements 13, 15, 16 and 30: start/stop/switch, status, badges, ecosystem endpoints.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHarness, type Harness } from '../support/director-harness.js';
import { payloads } from './payloads.js';

describe('COMPAT 13, 15, 16, 30: status, badge, ecosystem', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  it('COMPAT 13: start/stop/switch answer the full task; the original messages on misuse; unknown id → 404 first', async () => {
    const admin = { ...payloads.adminUiCreate, id: 'c13', end: '2099-01-01T00:00:00.000Z' };
    await h.call('POST', '/api/v1/tasks/', admin);
    const switched = await h.call('POST', '/api/v1/tasks/c13/status/switch');
    assert.equal(switched.status, 200);
    assert.equal(switched.body.running, true, 'switch on running "" makes it true');
    assert.deepEqual(switched.body.configuration, { k: 1 });
    const again = await h.call('POST', '/api/v1/tasks/c13/status/start');
    assert.equal(again.status, 400);
    assert.equal(again.body.message, 'Task already running');
    const stopped = await h.call('POST', '/api/v1/tasks/c13/status/stop');
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.running, false);
    const stopAgain = await h.call('POST', '/api/v1/tasks/c13/status/stop');
    assert.equal(stopAgain.status, 400);
    assert.equal(stopAgain.body.message, 'Task is not running');
    const other = await h.call('POST', '/api/v1/tasks/c13/status/pause');
    assert.equal(other.status, 400);
    assert.equal(other.body.message, 'Action not permitted');
    assert.equal((await h.call('POST', '/api/v1/tasks/nobody/status/pause')).status, 404);
    const started = await h.call('POST', '/api/v1/tasks/c13/status/start');
    assert.equal(started.status, 200);
    assert.equal(started.body.running, true);
  });

  it('COMPAT 15: status says the real running value and nextExecution as an epoch-ms string, plus run details', async () => {
    const init = Date.now() + 3_600_000;
    await h.call('POST', '/api/v1/tasks', { id: 'c15', script: 'x.js', running: false, init, interval: 1000 });
    const stopped = (await h.call('GET', '/api/v1/tasks/c15/status')).body;
    assert.equal(stopped.running, false);
    assert.equal(stopped.nextExecution, null);
    await h.call('POST', '/api/v1/tasks/c15/status/start');
    const running = (await h.call('GET', '/api/v1/tasks/c15/status')).body;
    assert.equal(running.id, 'c15');
    assert.equal(running.running, true);
    assert.equal(running.nextExecution, String(init));
    assert.equal(running.nextExecutionDate, new Date(init).toISOString());
    assert.equal(running.lastRun, null);
    assert.equal(typeof running.runs.succeeded, 'number');
    assert.equal(running.consecutiveFailures, 0);
  });

  it('COMPAT 16: the badge is SVG saying Running or Stopped; unknown id → 404 JSON', async () => {
    await h.call('POST', '/api/v1/tasks', { id: 'c16', script: 'x.js', running: true, interval: 3_600_000 });
    const on = await h.request({ method: 'GET', url: '/api/v1/tasks/c16/badge' });
    assert.equal(on.statusCode, 200);
    assert.match(String(on.headers['content-type']), /^image\/svg\+xml/);
    assert.ok(on.body.includes('aria-label="Director: Running"'));
    await h.call('POST', '/api/v1/tasks/c16/status/stop');
    const off = await h.request({ method: 'GET', url: '/api/v1/tasks/c16/badge' });
    assert.ok(off.body.includes('aria-label="Director: Stopped"'));
    const missing = await h.call('GET', '/api/v1/tasks/none/badge');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 404);
  });

  it('COMPAT 30: /commons, /commons/logger/config, /commons/requestLogging, /commons/infrastructure and /info', async () => {
    const commons = (await h.call('GET', '/commons')).body;
    assert.equal(commons.title, 'Governify Commons');
    assert.equal(commons.serviceName, 'director');
    assert.equal(typeof commons.version, 'string');
    assert.equal(typeof commons.serviceVersion, 'string');
    const level = (await h.call('GET', '/commons/logger/config')).body.level;
    assert.ok(level >= 1 && level <= 5);
    assert.match(String((await h.call('GET', '/commons/requestLogging')).body), /^(Enabled|Disabled)$/);
    assert.deepEqual((await h.call('GET', '/commons/infrastructure')).body, { internal: {}, external: {} });
    const info = (await h.call('GET', '/info')).body;
    assert.equal(info.name, 'director');
    assert.ok(info.info);

    const dir = mkdtempSync(path.join(tmpdir(), 'director-infra-'));
    const file = path.join(dir, 'infrastructure.yaml');
    writeFileSync(file, 'internal:\n  assets:\n    default: http://assets:80\nexternal:\n  render:\n    default: https://render.example\n');
    const withInfra = await startHarness({ env: { GOV_INFRASTRUCTURE: file } });
    try {
      const infra = (await withInfra.call('GET', '/commons/infrastructure')).body;
      assert.deepEqual(infra, { internal: { assets: { default: 'http://assets:80' } }, external: { render: { default: 'https://render.example' } } });
    } finally {
      await withInfra.close();
    }
  });
});
