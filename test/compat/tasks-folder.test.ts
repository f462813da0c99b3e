// COMPAT 32: the tasks folder — tasks mirrored as files before the response, others' edits picked up.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHarness, type Harness } from '../support/director-harness.js';
import { eventually } from '../support/wait.js';
import { payloads } from './payloads.js';

describe('COMPAT 32: tasks folder', () => {
  let h: Harness;
  let dir: string;
  const file = (id: string) => path.join(dir, `${id}.json`);
  const readTask = (id: string) => JSON.parse(readFileSync(file(id), 'utf8'));

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'director-tasks-'));
    // A task file left from before start-up is imported.
    writeFileSync(file('preexisting'), JSON.stringify({ id: 'preexisting', script: 'x.js', running: false }));
    h = await startHarness({ config: { tasksDir: dir, scriptPolicy: 'trusted' } });
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports the folder on start-up', async () => {
    assert.deepEqual((await h.call('GET', '/api/v1/tasks/preexisting')).body, { id: 'preexisting', script: 'x.js', running: false });
  });

  it('writes <id>.json (pretty JSON) before a write is answered, and removes it on delete', async () => {
    const body = payloads.tpaManagerCalculation;
    await h.call('POST', '/api/v1/tasks', body);
    assert.deepEqual(readTask(body.id), body);
    assert.match(readFileSync(file(body.id), 'utf8'), /\n {2}"script"/);
    await h.call('PUT', `/api/v1/tasks/${body.id}`, { ...body, running: false });
    assert.equal(readTask(body.id).running, false);
    await h.call('POST', `/api/v1/tasks/${body.id}/status/switch`);
    assert.equal(readTask(body.id).running, true);
    await h.call('DELETE', `/api/v1/tasks/${body.id}`);
    assert.equal(existsSync(file(body.id)), false);
  });

  it('mirrors 50 parallel POSTs: every file and every row is there', async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => ({ ...payloads.tpaManagerCalculation, id: `par-${i}`, running: i % 3 === 0 }));
    const responses = await Promise.all(bodies.map((b) => h.call('POST', '/api/v1/tasks', b)));
    assert.ok(responses.every((r) => r.status === 200));
    for (const body of bodies) {
      assert.deepEqual(readTask(body.id), body);
      assert.deepEqual((await h.call('GET', `/api/v1/tasks/${body.id}`)).body, body);
    }
  });

  it('picks up files created, changed and deleted by others within 3 s, and re-plans the schedule', async () => {
    const init = Date.now() + 3_600_000;
    writeFileSync(file('external'), JSON.stringify({ id: 'external', script: 'x.js', running: true, init, interval: 60_000 }, null, 2));
    await eventually(async () => (await h.call('GET', '/api/v1/tasks/external')).status === 200, 3000, 'the created file');
    assert.equal((await h.call('GET', '/api/v1/tasks/external/status')).body.nextExecution, String(init));
    writeFileSync(file('external'), JSON.stringify({ id: 'external', script: 'x.js', running: true, init: init + 5000, interval: 60_000 }, null, 2));
    await eventually(async () => (await h.call('GET', '/api/v1/tasks/external/status')).body.nextExecution === String(init + 5000), 3000, 'the changed file');
    unlinkSync(file('external'));
    await eventually(async () => (await h.call('GET', '/api/v1/tasks/external')).status === 404, 3000, 'the deleted file');
  });

  it('skips a malformed file without affecting other tasks', async () => {
    await h.call('POST', '/api/v1/tasks', { id: 'healthy', script: 'x.js', running: false, config: { a: 1 } });
    writeFileSync(file('healthy'), '{ "id": "healthy", "script": ');
    writeFileSync(file('broken-new'), 'not json at all');
    writeFileSync(file('bad-interval'), JSON.stringify({ id: 'bad-interval', script: 'x.js', interval: -1 }));
    writeFileSync(file('other-ok'), JSON.stringify({ id: 'other-ok', script: 'x.js', running: false }));
    await eventually(async () => (await h.call('GET', '/api/v1/tasks/other-ok')).status === 200, 3000, 'the valid file beside the broken ones');
    assert.deepEqual((await h.call('GET', '/api/v1/tasks/healthy')).body.config, { a: 1 }, 'the last valid version is kept');
    assert.equal((await h.call('GET', '/api/v1/tasks/broken-new')).status, 404);
    assert.equal((await h.call('GET', '/api/v1/tasks/bad-interval')).status, 404);
  });

  it('lets a trusted script rewrite init/end of tpaCalculation task files the way optimizeCalculationPeriod does', async () => {
    const task = { ...payloads.tpaManagerCalculation, id: 'tpaCalculation-optimize', init: '2030-01-10T09:00:00.000Z', end: '2099-08-10T09:00:00.000Z' };
    await h.call('POST', '/api/v1/tasks', task);
    const newInit = '2031-02-01T00:00:00.000Z';
    const script = [
      'const fs = require("fs"); const path = require("path");',
      'module.exports.main = (config) => {',
      '  const dir = path.join(process.cwd(), config.dir);',
      '  const changed = [];',
      '  for (const name of fs.readdirSync(dir).filter((n) => n.startsWith("tpaCalculation") && n.endsWith(".json"))) {',
      '    const file = path.join(dir, name); const t = JSON.parse(fs.readFileSync(file, "utf8"));',
      '    t.init = config.init; fs.writeFileSync(file, JSON.stringify(t, null, 2)); changed.push(t.id);',
      '  }',
      '  return changed;',
      '};',
    ].join('\n');
    const result = await h.call('POST', '/api/v1/tasks/test', { scriptText: script, scriptConfig: { dir: path.relative(process.cwd(), dir), init: newInit } });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.ok(result.body.includes('tpaCalculation-optimize'));
    await eventually(async () => (await h.call('GET', '/api/v1/tasks/tpaCalculation-optimize')).body.init === newInit, 3000, 'the rewritten init');
    assert.equal((await h.call('GET', '/api/v1/tasks/tpaCalculation-optimize/status')).body.nextExecution, String(Date.parse(newInit)));
  });
});
