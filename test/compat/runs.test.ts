// COMPAT statements 17–20, 25–29 and 31: run now, test, result encoding, the script runtime.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHarness, type Harness } from '../support/director-harness.js';
import { eventually } from '../support/wait.js';
import { payloads } from './payloads.js';

/** A folder where an operator "ran npm install governify-commons": a small local package of that name. */
function modulesFolder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'director-modules-'));
  const pkg = path.join(dir, 'node_modules', 'governify-commons');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'governify-commons', version: '1.0.0', main: 'index.js' }));
  writeFileSync(path.join(pkg, 'index.js'), 'module.exports = { getServiceURL: (name) => "http://" + name, version: "local" };');
  return dir;
}

describe('COMPAT 17–20, 25–29, 31: runs and the script runtime', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { scriptPolicy: 'trusted', executors: 2, drainMs: 2000 }, env: { DIRECTOR_SCRIPT_MODULES_DIR: modulesFolder() } });
  });
  after(async () => h.close());

  async function runScript(name: string, text: string, extra: Record<string, unknown> = {}) {
    h.assets.setScript(name, text);
    const id = name.replace(/\W/g, '-');
    await h.call('POST', '/api/v1/tasks', { id, script: name, running: false, ...extra });
    return h.call('POST', `/api/v1/tasks/${id}/run`);
  }

  it('COMPAT 17: POST and PUT /run fetch the script now and answer its result, for stopped and ended tasks; unknown → 404', async () => {
    h.assets.setScript('check-status.js', 'module.exports.main = (config) => ({ services: ["assets", "registry"], asked: config });');
    await h.call('POST', '/api/v1/tasks', { ...payloads.commonsBootstrap, script: 'check-status.js' });
    const post = await h.call('POST', '/api/v1/tasks/get_services_status/run');
    assert.equal(post.status, 200);
    assert.deepEqual(post.body, { services: ['assets', 'registry'], asked: {} });
    const put = await h.call('PUT', '/api/v1/tasks/get_services_status/run');
    assert.equal(put.status, 200);
    assert.equal((await h.call('POST', '/api/v1/tasks/nobody/run')).status, 404);
    const fetches = h.assets.requests.filter((r) => r.path.endsWith('/check-status.js'));
    assert.ok(fetches.length >= 2, 'fetched on every run');
  });

  it('COMPAT 17 (Commons UI flow): GET 404 → POST a stopped task → POST run returns the object', async () => {
    h.assets.setScript('services.js', 'module.exports.main = () => ({ status: "all up" });');
    assert.equal((await h.call('GET', '/api/v1/tasks/services_flow')).status, 404);
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'services_flow', script: 'services.js', running: false, config: {} })).status, 200);
    assert.deepEqual((await h.call('POST', '/api/v1/tasks/services_flow/run')).body, { status: 'all up' });
  });

  it('COMPAT 18: /tasks/test runs main(scriptConfig) and leaves the store untouched, string configs included', async () => {
    const before = (await h.call('GET', '/api/v1/tasks')).body;
    const commons = await h.call('POST', '/api/v1/tasks/test', payloads.commonsTest);
    assert.equal(commons.status, 200, JSON.stringify(commons.body));
    assert.deepEqual(commons.body, { ok: true });
    const stringConfig = await h.call('POST', '/api/v1/tasks/test', payloads.stringConfigTest);
    assert.equal(stringConfig.status, 200);
    assert.equal(stringConfig.body, '{"a":1}');
    assert.deepEqual((await h.call('GET', '/api/v1/tasks')).body, before);
  });

  it('COMPAT 19: results are encoded as JSON; undefined, throws, compile errors, fetch failures and unserialisable results are 500 with the stage', async () => {
    const test = (scriptText: string) => h.call('POST', '/api/v1/tasks/test', { scriptText, scriptConfig: {} });
    const text = await h.request({ method: 'POST', url: '/api/v1/tasks/test', payload: { scriptText: 'module.exports.main = () => "done"', scriptConfig: {} } });
    assert.equal(text.body, JSON.stringify('done'));
    assert.equal((await test('module.exports.main = () => 42')).body, 42);
    assert.deepEqual((await test('module.exports.main = () => [1, {a: 2}]')).body, [1, { a: 2 }]);
    const nullResult = await test('module.exports.main = () => null');
    assert.equal(nullResult.status, 200);
    assert.equal(nullResult.body, null);
    const failures: Array<[string, string[]]> = [
      ['module.exports.main = () => undefined', ['run', 'serialize']],
      ['module.exports.main = () => { throw new Error("boom") }', ['run']],
      ['module.exports.main = async () => { throw new Error("async boom") }', ['run']],
      ['module.exports.main = ( => {', ['compile']],
      ['module.exports.other = () => 1', ['compile', 'run']],
      ['module.exports.main = () => { const a = {}; a.self = a; return a; }', ['serialize']],
      ['module.exports.main = () => 10n', ['serialize']],
    ];
    for (const [script, stages] of failures) {
      const response = await test(script);
      assert.equal(response.status, 500, script);
      assert.equal(typeof response.body.message, 'string');
      assert.ok(response.body.message.length > 5, script);
      assert.ok(stages.includes(response.body.stage), `${script}: stage ${response.body.stage}`);
    }
    const fetchFailure = await runScript('gone.js', 'module.exports.main = () => 1');
    assert.equal(fetchFailure.status, 200);
    h.assets.removeScript('gone.js');
    const failed = await h.call('POST', '/api/v1/tasks/gone-js/run');
    assert.equal(failed.status, 500);
    assert.equal(failed.body.stage, 'fetch');
  });

  it('COMPAT 20: a task with configuration but no config gets configuration as config', async () => {
    const response = await runScript('echo-config.js', 'module.exports.main = (config) => config', { configuration: { k: 1 } });
    assert.deepEqual(response.body, { k: 1 });
  });

  it('COMPAT 25: sloppy CommonJS, fresh module per run, implicit globals, this === module.exports, sync or async main', async () => {
    const script = [
      'counter = (typeof counter === "number" ? counter : 0) + 1;', // implicit global, kept with the task's context
      'var topLevelRuns = (global.topLevelRuns || 0) + 1; global.topLevelRuns = topLevelRuns;',
      'const isExports = this === module.exports;',
      'exports.main = async function (config) { return { counter, topLevelRuns, isExports }; };',
    ].join('\n');
    const first = await runScript('sloppy.js', script);
    const second = await h.call('POST', '/api/v1/tasks/sloppy-js/run');
    assert.deepEqual(first.body, { counter: 1, topLevelRuns: 1, isExports: true });
    // Top-level code ran again; the globals it left are the task's own, kept while its context is warm
    // (as the original's one process kept them), never another task's: see the executor-pool tests.
    assert.deepEqual(second.body, { counter: 2, topLevelRuns: 2, isExports: true }, 'top-level code runs on every run of the task');
    assert.deepEqual((await h.call('POST', '/api/v1/tasks/test', { scriptText: 'module.exports = { main: function () { return "sync" } }' })).body, 'sync');
  });

  it('COMPAT 26: axios always; governify-commons from the modules folder; fs, child_process and env under trusted', async () => {
    const result = await h.call('POST', '/api/v1/tasks/test', {
      scriptText: [
        'const axios = require("axios"); const commons = require("governify-commons");',
        'const fs = require("fs"); const cp = require("child_process");',
        'module.exports.main = () => ({ axios: typeof axios.get, commons: commons.version,',
        '  fs: fs.existsSync("/"), id: cp.execSync("echo hi").toString().trim(), path: typeof process.env.PATH });',
      ].join('\n'),
      scriptConfig: {},
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(result.body, { axios: 'function', commons: 'local', fs: true, id: 'hi', path: 'string' });
  });

  it('COMPAT 27: an un-awaited axios.post made by main still reaches its server', async () => {
    const url = `${h.assets.url}/api/v4/contracts/agreement-1/createPointsFromPeriods`;
    const script = [
      '"use strict";',
      'const axios = require("axios");',
      'module.exports.main = (config) => {',
      '  const result = { date: new Date(), log: [] };',
      `  setTimeout(() => axios.post(${JSON.stringify(url)}, { periods: config.periods }).then(() => result.log.push("requested")), 200);`,
      '  return result;',
      '};',
    ].join('\n');
    const response = await runScript('requestTpaReport.js', script, { config: { periods: [1, 2] } });
    assert.equal(response.status, 200);
    const delivered = await eventually(() => h.assets.requests.find((r) => r.method === 'POST' && r.path.includes('createPointsFromPeriods')), 5000, 'the un-awaited POST');
    assert.deepEqual(JSON.parse(delivered.body), { periods: [1, 2] });
  });

  it('COMPAT 28: async throws, rejections, exit, endless loops and memory bombs never stop Director', async () => {
    const hostile = [
      'module.exports.main = () => { setTimeout(() => { throw new Error("later") }, 10); return 1; }',
      'module.exports.main = () => { Promise.reject(new Error("unhandled")); return 1; }',
      'module.exports.main = () => process.exit(1)',
      'module.exports.main = () => { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }',
    ];
    for (const scriptText of hostile) {
      const response = await h.call('POST', '/api/v1/tasks/test', { scriptText, scriptConfig: {} });
      assert.ok(response.status === 200 || response.status === 500, scriptText);
      assert.equal((await h.call('GET', '/api/v1/tasks')).status, 200);
    }
    h.assets.setScript('loop.js', 'module.exports.main = () => { for (;;) {} }');
    await h.call('POST', '/api/v1/tasks', { id: 'loop', script: 'loop.js', running: false, timeout: 1000 });
    const pending = h.call('POST', '/api/v1/tasks/loop/run');
    const started = Date.now();
    assert.equal((await h.call('GET', '/api/v1/tasks')).status, 200);
    assert.ok(Date.now() - started < 1000, 'Director answers while a script loops');
    const looped = await pending;
    assert.equal(looped.status, 500);
    assert.equal(looped.body.stage, 'timeout');
    assert.equal((await h.call('POST', '/api/v1/tasks/test', { scriptText: 'module.exports.main = () => "alive"' })).body, 'alive');
  });

  it('COMPAT 29: console output of a script is captured with its run', async () => {
    const response = await runScript('chatty.js', 'module.exports.main = () => { console.log("hello from the script"); console.error("and a warning"); return 1; }');
    assert.equal(response.status, 200);
    const runs = (await h.call('GET', '/api/v1/tasks/chatty-js/runs?include=logs')).body.runs;
    assert.equal(runs.length, 1);
    assert.match(runs[0].logs, /hello from the script/);
    assert.match(runs[0].logs, /and a warning/);
    assert.equal(runs[0].status, 'succeeded');
    assert.equal(runs[0].trigger, 'manual');
    assert.match(runs[0].scriptSha256, /^[0-9a-f]{64}$/);
  });

  it('COMPAT 31: placeholders in scripts are left for the assets manager: Director runs the text it receives', async () => {
    const response = await runScript('placeholder.js', 'module.exports.main = () => "$_[infrastructure.internal.reporter.default]"');
    assert.equal(response.body, '$_[infrastructure.internal.reporter.default]');
  });
});
