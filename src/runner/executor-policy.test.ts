// Script policies with real executors: strict confines a script even after it escapes to the real
// `process`; trusted gives full Node; a modules folder extends what scripts may require.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executorFile } from './executor-launch.js';
import { failure, startTestPool, type TestPool } from './testing/test-pool.js';

const SECRET = 'fake-secret-4f1c9e';
const probeFile = path.join(tmpdir(), `director-strict-probe-${process.pid}`);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Tries everything a confined script must not do, through the given `process`, and reports each outcome. */
const PROBE = `
function probe(p) {
  const out = {};
  const attempt = (name, fn) => { try { fn(); out[name] = 'allowed'; } catch (e) { out[name] = 'denied:' + (e.code || e.message); } };
  attempt('readPasswd', () => p.getBuiltinModule('fs').readFileSync('/etc/passwd', 'utf8'));
  attempt('readParentEnviron', () => p.getBuiltinModule('fs').readFileSync('/proc/' + p.ppid + '/environ', 'utf8'));
  attempt('writeTmp', () => p.getBuiltinModule('fs').writeFileSync(${JSON.stringify(probeFile)}, 'x'));
  attempt('writeOwnFolder', () => p.getBuiltinModule('fs').writeFileSync(${JSON.stringify(path.join(path.dirname(executorFile), 'probe.txt'))}, 'x'));
  attempt('exec', () => p.getBuiltinModule('child_process').execSync('id'));
  attempt('killParent', () => p.kill(p.ppid, 'SIGTERM'));
  attempt('killGroup', () => p.kill(0, 'SIGTERM'));
  attempt('binding', () => p.binding('fs'));
  out.secret = p.env.DIRECTOR_TEST_SECRET === undefined ? null : p.env.DIRECTOR_TEST_SECRET;
  out.allowed = p.env.DIRECTOR_TEST_ALLOWED === undefined ? null : p.env.DIRECTOR_TEST_ALLOWED;
  out.uid = p.getuid();
  return out;
}`;

function resultOf(execution: Awaited<ReturnType<TestPool['run']>>): Record<string, unknown> {
  assert.equal(execution.outcome, 'succeeded', execution.outcome === 'succeeded' ? '' : JSON.stringify(execution.error));
  return JSON.parse(execution.outcome === 'succeeded' ? execution.result ?? 'null' : 'null') as Record<string, unknown>;
}

describe('strict policy', () => {
  let t: TestPool;
  before(async () => {
    process.env.DIRECTOR_TEST_SECRET = SECRET;
    process.env.DIRECTOR_TEST_ALLOWED = 'visible';
    t = await startTestPool({ size: 1, policy: 'strict', scriptEnv: ['DIRECTOR_TEST_ALLOWED'] });
  });
  after(async () => {
    await t.close();
    delete process.env.DIRECTOR_TEST_SECRET;
    delete process.env.DIRECTOR_TEST_ALLOWED;
    rmSync(probeFile, { force: true });
  });

  test('require is an allow-list: fs, child_process, worker_threads, vm, v8 … are refused', async () => {
    const execution = await t.run(`module.exports.main = () => ['fs', 'node:fs', 'child_process', 'worker_threads', 'vm', 'cluster', 'v8', 'inspector', 'lodash'].map((m) => { try { require(m); return m + ':allowed'; } catch (e) { return m + ':' + e.code; } });`);
    for (const entry of resultOf(execution) as unknown as string[]) assert.match(entry, /:(ERR_DIRECTOR_MODULE_NOT_ALLOWED)$/, entry);
  });

  test('the network built-ins and their subpaths are allowed', async () => {
    const execution = await t.run(`module.exports.main = () => ['http', 'https', 'node:url', 'querystring', 'crypto', 'util', 'events', 'buffer', 'stream', 'stream/promises', 'string_decoder', 'zlib', 'timers/promises', 'path', 'assert/strict', 'axios'].filter((m) => typeof require(m) !== 'object' && typeof require(m) !== 'function');`);
    assert.deepEqual(resultOf(execution), []);
    const denied = await t.run(`module.exports.main = () => { try { require('fs/promises'); return 'allowed'; } catch (e) { return e.code; } };`);
    assert.equal(denied.outcome === 'succeeded' && denied.result, '"ERR_DIRECTOR_MODULE_NOT_ALLOWED"');
  });

  test('the script sees only DIRECTOR_SCRIPT_ENV variables, and no exit or kill on its process', async () => {
    const execution = await t.run('module.exports.main = () => ({ secret: process.env.DIRECTOR_TEST_SECRET ?? null, allowed: process.env.DIRECTOR_TEST_ALLOWED, kill: typeof process.kill, keys: Object.keys(process.env) });');
    assert.deepEqual(resultOf(execution), { secret: null, allowed: 'visible', kill: 'undefined', keys: ['DIRECTOR_TEST_ALLOWED'] });
  });

  test('after the require.constructor escape to the real process, files, processes, secrets and signals stay out of reach', async () => {
    const execution = await t.run(`${PROBE}\nmodule.exports.main = () => probe(require.constructor('return process')());`);
    const out = resultOf(execution);
    for (const key of ['readPasswd', 'readParentEnviron', 'writeTmp', 'writeOwnFolder', 'exec', 'killParent', 'killGroup', 'binding']) {
      assert.match(String(out[key]), /^denied:/, `${key}: ${String(out[key])}`);
    }
    assert.equal(out.secret, null);
    assert.equal(out.allowed, 'visible');
    if (isRoot) assert.notEqual(out.uid, 0, 'Director runs as root, so executors must not');
    assert.equal(existsSync(probeFile), false);
    assert.equal(existsSync(path.join(path.dirname(executorFile), 'probe.txt')), false);
  });

  test('a script that listens on its real process sees nothing of another task\'s run', async () => {
    const spy = await t.run(`module.exports.main = () => { const p = require.constructor('return process')(); p.seen = []; p.on('message', (m) => p.seen.push(m)); return 'listening'; };`, { taskKey: 'spy' });
    assert.equal(spy.outcome, 'succeeded');
    const victim = await t.run('module.exports.main = (config) => config.secret.length;', { config: { secret: 'victim-secret' }, taskKey: 'victim' });
    assert.equal(victim.outcome === 'succeeded' && victim.result, '13');
    const seen = await t.run(`module.exports.main = () => JSON.stringify(require.constructor('return process')().seen);`, { taskKey: 'spy' });
    assert.equal(seen.outcome === 'succeeded' && seen.result, JSON.stringify('[]'));
  });
});

describe('trusted policy', () => {
  let t: TestPool;
  before(async () => {
    process.env.DIRECTOR_TEST_SECRET = SECRET;
    t = await startTestPool({ size: 1, policy: 'trusted', env: { ...process.env, DIRECTOR_API_TOKENS: 'admin:admin:0123456789abcdef0123', DIRECTOR_DATABASE_URL: 'postgres://u:pw@db/x' } });
  });
  after(async () => {
    await t.close();
    delete process.env.DIRECTOR_TEST_SECRET;
  });

  test('the environment is Director\'s, less Director\'s own credentials', async () => {
    const execution = await t.run('module.exports.main = () => [process.env.DIRECTOR_TEST_SECRET, process.env.DIRECTOR_API_TOKENS ?? null, process.env.DIRECTOR_DATABASE_URL ?? null];');
    assert.deepEqual(resultOf(execution), [SECRET, null, null]);
  });

  test('scripts get full Node: fs, child_process, the environment and Director\'s working folder', async () => {
    const execution = await t.run(`const fs = require('fs'); const cp = require('child_process'); module.exports.main = () => ({ passwd: fs.readFileSync('/etc/passwd', 'utf8').includes('root:'), id: cp.execSync('id -u').toString().trim(), secret: process.env.DIRECTOR_TEST_SECRET, cwd: process.cwd() });`);
    assert.deepEqual(resultOf(execution), { passwd: true, id: String(process.getuid?.() ?? ''), secret: SECRET, cwd: process.cwd() });
  });

  test('process.exit() ends only its own run, and Director cannot be signalled', async () => {
    const exited = await t.run('module.exports.main = () => { process.exit(1); };');
    assert.equal(failure(exited).error.stage, 'executor');
    assert.match(failure(exited).error.message, /exited \(code 1\)/);
    const killer = await t.run('module.exports.main = () => { process.kill(process.ppid, "SIGTERM"); };');
    assert.match(failure(killer).error.message, /EPERM/);
  });
});

describe('modules folder (DIRECTOR_SCRIPT_MODULES_DIR)', () => {
  let folder: string;
  before(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'director-modules-'));
    // An executor running as an unprivileged user must be able to read the folder.
    chmodSync(folder, 0o755);
    for (const name of ['greeter', 'other']) {
      const dir = path.join(folder, 'node_modules', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js' }));
      writeFileSync(path.join(dir, 'index.js'), `module.exports = (who) => '${name} says hello to ' + who;`);
    }
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  test('under trusted, every package installed there is requirable (the folder or its node_modules)', async () => {
    for (const dir of [folder, path.join(folder, 'node_modules')]) {
      const t = await startTestPool({ size: 1, policy: 'trusted', scriptModulesDir: dir });
      try {
        const execution = await t.run('module.exports.main = () => [require("greeter")("a"), require("other")("b")];');
        assert.deepEqual(resultOf(execution), ['greeter says hello to a', 'other says hello to b']);
      } finally {
        await t.close();
      }
    }
  });

  test('a private modules folder (mode 0700) is copied for the unprivileged user, who then loads from the copy', { skip: !isRoot }, async () => {
    const privateDir = mkdtempSync(path.join(tmpdir(), 'director-private-modules-'));
    const dir = path.join(privateDir, 'node_modules', 'greeter');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'greeter', main: 'index.js' }));
    writeFileSync(path.join(dir, 'index.js'), 'module.exports = () => "hello from a private folder";');
    const t = await startTestPool({ size: 1, policy: 'strict', scriptModulesDir: privateDir, scriptModules: ['greeter'] });
    try {
      const execution = await t.run('module.exports.main = () => [require("greeter")(), require.constructor("return process")().getuid()];');
      const [greeting, uid] = resultOf(execution) as unknown as [string, number];
      assert.equal(greeting, 'hello from a private folder');
      assert.notEqual(uid, 0);
    } finally {
      await t.close();
      rmSync(privateDir, { recursive: true, force: true });
    }
  });

  test('under strict, only the packages named in DIRECTOR_SCRIPT_MODULES are', async () => {
    const t = await startTestPool({ size: 1, policy: 'strict', scriptModulesDir: folder, scriptModules: ['greeter'] });
    try {
      const execution = await t.run('module.exports.main = () => { const out = [require("greeter")("a")]; try { require("other"); out.push("other allowed"); } catch (e) { out.push(e.code); } return out; };');
      assert.deepEqual(resultOf(execution), ['greeter says hello to a', 'ERR_DIRECTOR_MODULE_NOT_ALLOWED']);
    } finally {
      await t.close();
    }
  });
});
