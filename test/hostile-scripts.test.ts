// Hostile scripts against a real Director (strict, the default), through the real HTTP API: each attack
// of the threat model is tried as an attacker would, is contained, and Director answers /health within
// 1 s throughout. Every /tasks/test run is a task of its own, so "run 1 then run 2" is task against task.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDirectorProcess, type DirectorProcess } from './support/director-process.js';

const SECRET = 'director-secret-value-0a1b2c';

interface TestAnswer {
  readonly status: number;
  readonly body: any;
}

describe('hostile scripts under strict, against a real Director', () => {
  let director: DirectorProcess;
  let dataDir: string;
  let healthTimer: NodeJS.Timeout;
  let worstHealthMs = 0;
  let healthFailures = 0;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'director-hostile-'));
    director = await startDirectorProcess({ DIRECTOR_DATA_DIR: dataDir, DIRECTOR_TEST_SECRET: SECRET, DIRECTOR_MANUAL_RUN_TIMEOUT_MS: '10000', DIRECTOR_RUN_MEMORY_MB: '64' });
    // Probed every 100 ms through the whole suite: a script that could stall Director shows up here.
    const probe = async (): Promise<void> => {
      const started = Date.now();
      try {
        const response = await fetch(`${director.url}/health`, { signal: AbortSignal.timeout(5000) });
        if (response.status !== 200) healthFailures += 1;
      } catch {
        healthFailures += 1;
      }
      worstHealthMs = Math.max(worstHealthMs, Date.now() - started);
      healthTimer = setTimeout(() => void probe(), 100);
    };
    void probe();
  });

  after(async () => {
    clearTimeout(healthTimer);
    director.kill('SIGTERM');
    await director.exited;
    rmSync(dataDir, { recursive: true, force: true });
    assert.equal(healthFailures, 0, 'every /health probe answered 200');
    assert.ok(worstHealthMs < 1000, `the slowest /health took ${worstHealthMs} ms`);
  });

  async function runTest(scriptText: string, scriptConfig: unknown = {}): Promise<TestAnswer> {
    const response = await fetch(`${director.url}/api/v1/tasks/test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scriptText, scriptConfig }),
    });
    return { status: response.status, body: await response.json() };
  }

  test('a module, prototype or global one task changes is not what another task sees', async () => {
    const attacker = await runTest(`
      const http = require('http'); const url = require('url');
      http.x = 'forged'; url.parse = () => ({ pathname: 'hijacked' });
      Object.prototype.polluted = 'yes'; Array.prototype.push = function () { return 'pwned'; };
      const realProcess = require.constructor('return process')();
      realProcess.emit = () => true;
      require.constructor('return Object')().prototype.hostPolluted = 'yes';
      globalThis.leftover = 'x';
      module.exports.main = () => 'changed everything it could reach';`);
    assert.equal(attacker.status, 200, JSON.stringify(attacker.body));
    const victim = await runTest(`
      module.exports.main = () => ({
        x: typeof require('http').x, path: require('url').parse('http://a/b').pathname, polluted: ({}).polluted ?? null,
        host: require.constructor('return Object')().prototype.hostPolluted ?? null, push: [].push(1), leftover: typeof leftover,
        emit: require.constructor('return process')().emit.toString().includes('=> true'),
      });`);
    assert.equal(victim.status, 200, JSON.stringify(victim.body));
    assert.deepEqual(victim.body, { x: 'undefined', path: '/b', polluted: null, host: null, push: 1, leftover: 'undefined', emit: false });
  });

  test('a timer left behind by one task cannot forge or change another task\'s run', async () => {
    const attacker = await runTest(`
      const p = require.constructor('return process')();
      const forge = () => { for (let n = 0; n < 50; n++) { try { p.emit('message', { type: 'end', runId: 'test-' + n, end: { outcome: 'succeeded', result: '"forged"', logs: '' } }); } catch {} } globalThis.Object.prototype.forged = true; };
      setInterval(forge, 1).unref(); setTimeout(forge, 50);
      module.exports.main = () => 'armed';`);
    assert.equal(attacker.status, 200);
    for (let i = 0; i < 3; i++) {
      const victim = await runTest('module.exports.main = async (c) => { await new Promise((r) => setTimeout(r, 60)); return { n: c.n, forged: ({}).forged ?? null }; };', { n: i });
      assert.deepEqual(victim.body, { n: i, forged: null });
    }
  });

  test('writing process.pid does not let a script signal Director or its own executor', async () => {
    const answer = await runTest(`
      module.exports.main = () => {
        const p = require.constructor('return process')();
        const director = p.ppid;
        try { p.pid = director; } catch {}
        const tries = {};
        for (const [name, pid] of Object.entries({ director, self: p.pid, group: -director, zero: 0 })) {
          try { p.kill(pid, 'SIGKILL'); tries[name] = 'sent'; } catch (e) { tries[name] = e.code; }
        }
        return { pidIsDirector: p.pid === director, tries };
      };`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { pidIsDirector: false, tries: { director: 'EPERM', self: 'EPERM', group: 'EPERM', zero: 'EPERM' } });
    const after = await fetch(`${director.url}/health`);
    assert.equal(after.status, 200);
    const next = await runTest('module.exports.main = () => "executor still there";');
    assert.equal(next.body, 'executor still there');
  });

  test('a script reaches neither Director\'s files, nor its environment, nor os or worker_threads', async () => {
    const answer = await runTest(`
      module.exports.main = () => {
        const p = require.constructor('return process')();
        const out = {};
        const tries = {
          fs: () => require('fs'), os: () => require('os'), worker: () => require('worker_threads'), child: () => require('child_process'),
          builtinOs: () => p.getBuiltinModule('os').setPriority(p.ppid, 19),
          mainModule: () => p.mainModule.require('os'),
          binding: () => p.binding('fs'),
          dlopen: () => p.dlopen({ exports: {} }, '/nonexistent.node'),
          envFile: () => p.loadEnvFile('/etc/hostname'),
        };
        for (const [name, attempt] of Object.entries(tries)) { try { attempt(); out[name] = 'reached'; } catch (e) { out[name] = 'denied'; } }
        out.secret = JSON.stringify(p.env).includes(${JSON.stringify(SECRET)});
        out.facadeSecret = JSON.stringify(process.env).includes(${JSON.stringify(SECRET)});
        return out;
      };`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, {
      fs: 'denied', os: 'denied', worker: 'denied', child: 'denied', builtinOs: 'denied', mainModule: 'denied', binding: 'denied', dlopen: 'denied', envFile: 'denied',
      secret: false, facadeSecret: false,
    });
  });

  test('a script cannot use Director\'s API on loopback without a token, though anyone else on loopback can', async () => {
    const created = await fetch(`${director.url}/api/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'holds-a-secret', script: 'hello.js', running: false, config: { password: SECRET } }),
    });
    assert.equal(created.status, 200);
    const answer = await runTest(`
      const http = require('http');
      const get = (url) => new Promise((resolve) => http.get(url, (res) => { let body = ''; res.on('data', (c) => body += c); res.on('end', () => resolve({ status: res.statusCode, leaked: body.includes(${JSON.stringify(SECRET)}) })); }).on('error', (e) => resolve({ error: e.code })));
      module.exports.main = async (config) => ({ list: await get(config.url + '/api/v1/tasks'), one: await get(config.url + '/api/v1/tasks/holds-a-secret') });`, { url: director.url });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { list: { status: 403, leaked: false }, one: { status: 403, leaked: false } });
    const fromTest = await fetch(`${director.url}/api/v1/tasks/holds-a-secret`);
    assert.equal(fromTest.status, 200, 'a client that is not an executor keeps the tokenless loopback access');
  });

  test('a script that loops forever, or grows its heap without bound, ends alone and Director stays responsive', async () => {
    // In parallel: the loop holds a core until its timeout, the bomb fills its 64 MB heap meanwhile.
    const [loop, bomb, bystander] = await Promise.all([
      runTest('module.exports.main = () => { for (;;) {} };'),
      runTest('module.exports.main = () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(1.5)); };'),
      runTest('module.exports.main = async () => { await new Promise((r) => setTimeout(r, 500)); return "bystander finished"; };'),
    ]);
    assert.equal(loop.status, 500);
    assert.equal(loop.body.stage, 'timeout');
    assert.equal(bomb.status, 500);
    assert.equal(bomb.body.stage, 'executor');
    assert.match(bomb.body.message, /heap limit 64 MB|memory/);
    assert.equal(bystander.body, 'bystander finished');
  });

  test('a syntax error names the script and its line, without the fetched text', async () => {
    const answer = await runTest(`module.exports.main = () => 1;\nconst leaked = "${SECRET}" +;\n`);
    assert.equal(answer.status, 500);
    assert.equal(answer.body.stage, 'compile');
    assert.match(answer.body.message, /test\.js:2/);
    assert.ok(!JSON.stringify(answer.body).includes(SECRET), JSON.stringify(answer.body));
  });
});
