// Assets against a real loopback assets server and real folders: URL resolution, per-run fetching,
// limits, and the sibling X.json a task's schedule may come from.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startAssetsServer, type AssetsServer } from '../../test/support/assets-server.js';
import { exampleAssetsDir, testConfig, type Config } from '../config.js';
import { isDirectorError } from '../domain/errors.js';
import { createAssets, type Assets } from './assets.js';
import { createTextFetcher, FETCHES_PER_ORIGIN } from './fetch-script.js';

function assetsFor(overrides: Partial<Config>): Assets {
  return createAssets({ config: testConfig(overrides) });
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isDirectorError(error), `expected a DirectorError, got ${String(error)}`);
    return { code: error.code, message: error.message, details: error.details };
  }
  throw new Error('expected a rejection');
}

describe('assets over HTTP (the Governify layout)', () => {
  let server: AssetsServer;
  let assets: Assets;
  before(async () => {
    server = await startAssetsServer();
    assets = assetsFor({ assetsUrl: server.url, fetchTimeoutMs: 300, scriptMaxBytes: 1000 });
  });
  after(async () => {
    assets.close();
    await server.close();
  });

  test('names resolve under /api/v1/public/director/, absolute URLs are kept as given', () => {
    assert.equal(assets.resolveScriptUrl('tasks/system/requestTpaReport/script.js'), `${server.url}/api/v1/public/director/tasks/system/requestTpaReport/script.js`);
    assert.equal(assets.resolveScriptUrl('https://assets.example.org/api/v1/public/director/x.js'), 'https://assets.example.org/api/v1/public/director/x.js');
  });

  test('every fetch asks the server; with an ETag it revalidates (304) and still sees changes at once', async () => {
    server.setScript('a.js', 'one');
    const first = await assets.fetchScript('a.js');
    const second = await assets.fetchScript('a.js');
    server.setScript('a.js', 'two');
    const third = await assets.fetchScript('a.js');
    assert.deepEqual([first.text, second.text, third.text], ['one', 'one', 'two']);
    assert.notEqual(first.sha256, third.sha256);
    const gets = server.requests.filter((r) => r.path.endsWith('/a.js'));
    assert.equal(gets.length, 3);
    assert.equal(gets[1]?.headers['if-none-match'] !== undefined, true, 'the second fetch revalidates with If-None-Match');
  });

  test('a missing script, a server error, a slow server and an oversized script are ASSETS_UNREACHABLE with a readable message', async () => {
    assert.match((await rejection(assets.fetchScript('nope.js'))).message, /404/);
    server.setScript('error.js', 'x');
    server.setStatus('error.js', 500);
    assert.match((await rejection(assets.fetchScript('error.js'))).message, /answered 500/);
    server.setScript('slow.js', 'x');
    server.setDelay('slow.js', 2000);
    const slow = await rejection(assets.fetchScript('slow.js'));
    assert.equal(slow.code, 'ASSETS_UNREACHABLE');
    assert.match(slow.message, /timed out after 300 ms/);
    server.setScript('big.js', 'x'.repeat(5000));
    assert.match((await rejection(assets.fetchScript('big.js'))).message, /DIRECTOR_SCRIPT_MAX_BYTES/);
  });

  test('X.json beside X.js gives init, end and interval; a missing one is null', async () => {
    server.setScript('hello.js', 'module.exports.main = () => 1;');
    server.setJson('hello.json', { interval: 5000, init: '2030-01-01T00:00:00', extra: true });
    assert.deepEqual(await assets.fetchSiblingJson('hello.js'), { interval: 5000, init: '2030-01-01T00:00:00' });
    assert.equal(await assets.fetchSiblingJson('lonely.js'), null);
    assert.equal(await assets.fetchSiblingJson('http://127.0.0.1:9/not-js'), null, 'a script that is not *.js has no sibling');
  });

  test('an X.json that is not JSON or has invalid values is SIBLING_JSON_INVALID naming file and field', async () => {
    server.setJson('broken.json', '{"interval": ');
    const broken = await rejection(assets.fetchSiblingJson('broken.js'));
    assert.equal(broken.code, 'SIBLING_JSON_INVALID');
    assert.match(broken.message, /^broken\.json: not valid JSON/);
    server.setJson('zero.json', { interval: 0 });
    const zero = await rejection(assets.fetchSiblingJson('zero.js'));
    assert.equal(zero.code, 'SIBLING_JSON_INVALID');
    assert.match(zero.message, /^zero\.json: interval: must be greater than 0/);
    assert.deepEqual([zero.details.file, zero.details.field], ['zero.json', 'interval']);
    server.setJson('date.json', { init: 'yesterday' });
    assert.equal((await rejection(assets.fetchSiblingJson('date.js'))).details.field, 'init');
  });

  test('unreachable assets make fetchSiblingJson ASSETS_UNREACHABLE, saying so', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const offline = assetsFor({ assetsUrl: `http://127.0.0.1:${port}` });
    const error = await rejection(offline.fetchSiblingJson('hello.js'));
    assert.equal(error.code, 'ASSETS_UNREACHABLE');
    assert.match(error.message, /unreachable.*hello\.json.*ECONNREFUSED/);
    offline.close();
  });
});

describe('a burst of fetches', () => {
  test('keeps at most FETCHES_PER_ORIGIN requests and connections per origin, answers all, and does not hold up another origin', async () => {
    let inFlight = 0;
    let most = 0;
    const connections = new Set<unknown>();
    const slow = createServer((req, res) => {
      connections.add(req.socket);
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight -= 1;
        res.end('module.exports.main = () => 1;');
      }, 5);
    });
    const other = await startAssetsServer();
    other.setScript('quick.js', 'quick');
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const assets = assetsFor({ assetsUrl: base, scriptOrigins: [`${other.url}/`], fetchTimeoutMs: 10_000 });
    try {
      const burst = Array.from({ length: 10 * FETCHES_PER_ORIGIN }, (_, i) => assets.fetchScript(`s${i}.js`));
      const quick = await assets.fetchScript(other.scriptUrl('quick.js'));
      assert.equal(quick.text, 'quick');
      assert.ok(inFlight > 0, 'the other origin answered while the burst was still going');
      assert.equal((await Promise.all(burst)).length, 10 * FETCHES_PER_ORIGIN);
      assert.ok(most <= FETCHES_PER_ORIGIN, `${most} requests were in flight at once`);
      assert.ok(connections.size <= FETCHES_PER_ORIGIN, `${connections.size} connections were opened`);
    } finally {
      assets.close();
      await other.close();
      await new Promise((resolve) => slow.close(resolve));
    }
  });
});

describe('a burst of slow fetches', () => {
  test('the fetch timeout bounds each request from when it goes out, not the wait for its turn', async () => {
    const slow = createServer((_req, res) => setTimeout(() => res.end('module.exports.main = () => 1;'), 150));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const assets = assetsFor({ assetsUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, fetchTimeoutMs: 400 });
    try {
      // Three rounds of 150 ms: the last round waits 300 ms for its turn, then answers well within 400 ms.
      const fetched = await Promise.all(Array.from({ length: 3 * FETCHES_PER_ORIGIN }, (_, i) => assets.fetchScript(`slow${i}.js`)));
      assert.equal(fetched.length, 3 * FETCHES_PER_ORIGIN);
    } finally {
      assets.close();
      await new Promise((resolve) => slow.close(resolve));
    }
  });
});

describe('assets in a local folder', () => {
  let folder: string;
  before(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'director-assets-'));
    mkdirSync(path.join(folder, 'sub'));
    writeFileSync(path.join(folder, 'job.js'), 'module.exports.main = () => "from disk";');
    writeFileSync(path.join(folder, 'job.json'), JSON.stringify({ interval: '5000' }));
    writeFileSync(path.join(folder, 'sub', 'deep.js'), '// deep');
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  test('scripts and sibling JSON are read from the folder on every fetch', async () => {
    const assets = assetsFor({ assetsUrl: pathToFileURL(folder).href });
    assert.equal((await assets.fetchScript('job.js')).text, 'module.exports.main = () => "from disk";');
    writeFileSync(path.join(folder, 'job.js'), 'changed');
    assert.equal((await assets.fetchScript('job.js')).text, 'changed');
    for (let i = 0; i < 20; i++) {
      // Same size, rewritten in place at once: only the times tell the versions apart.
      writeFileSync(path.join(folder, 'job.js'), `v${String(i).padStart(5, '0')}`);
      assert.equal((await assets.fetchScript('job.js')).text, `v${String(i).padStart(5, '0')}`);
    }
    writeFileSync(path.join(folder, 'job.js.tmp'), 'saved by an editor');
    renameSync(path.join(folder, 'job.js.tmp'), path.join(folder, 'job.js'));
    assert.equal((await assets.fetchScript('job.js')).text, 'saved by an editor');
    assert.equal((await assets.fetchScript('sub/deep.js')).text, '// deep');
    assert.deepEqual(await assets.fetchSiblingJson('job.js'), { interval: '5000' });
    assert.equal(await assets.fetchSiblingJson('sub/deep.js'), null);
    assert.equal((await rejection(assets.fetchScript('absent.js'))).code, 'ASSETS_UNREACHABLE');
  });

  test('a file kept in memory is read again when its inode, size or times change', async () => {
    // recentChangeMs 0: even a file written just now may be served from memory, so that path is tested.
    const fetcher = createTextFetcher({ timeoutMs: 1000, maxBytes: 1 << 20, recentChangeMs: 0 });
    const file = path.join(folder, 'kept.js');
    const url = pathToFileURL(file).href;
    const text = async (): Promise<string> => {
      const fetched = await fetcher.fetchText(url);
      return fetched.found ? fetched.text : '(not found)';
    };
    writeFileSync(file, 'one');
    utimesSync(file, 1_000_000, 1_000_000);
    assert.equal(await text(), 'one');
    writeFileSync(file, 'two');
    assert.equal(await text(), 'two', 'same size, rewritten in place: the times moved');
    writeFileSync(path.join(folder, 'kept.tmp'), 'six');
    renameSync(path.join(folder, 'kept.tmp'), file);
    assert.equal(await text(), 'six', 'replaced by rename: another inode');
    writeFileSync(file, 'seven');
    assert.equal(await text(), 'seven');
    rmSync(file);
    assert.equal(await text(), '(not found)');
    fetcher.close();
  });

  test('a folder named like a script is not found; a file over DIRECTOR_SCRIPT_MAX_BYTES is refused unread', async () => {
    mkdirSync(path.join(folder, 'dir.js'), { recursive: true });
    writeFileSync(path.join(folder, 'big.js'), 'x'.repeat(2048));
    const assets = assetsFor({ assetsUrl: pathToFileURL(folder).href, scriptMaxBytes: 1024 });
    const notFile = await rejection(assets.fetchScript('dir.js'));
    assert.equal(notFile.code, 'ASSETS_UNREACHABLE');
    assert.match(notFile.message, /not found|404/i);
    assert.equal(await assets.fetchSiblingJson('dir.js'), null, 'dir.json is absent, so no sibling');
    const big = await rejection(assets.fetchScript('big.js'));
    assert.match(big.message, /2048 bytes, more than the 1024 allowed/);
    assert.equal(await assets.fetchSiblingJson('job.js/x.js'), null, 'a path through a file is a missing file, not an error');
  });

  test('the default assets are the shipped example folder, laid out like the assets manager (director/)', async () => {
    const assets = assetsFor({ assetsUrl: pathToFileURL(exampleAssetsDir).href });
    const hello = await assets.fetchScript('hello.js');
    assert.equal(hello.url, pathToFileURL(path.join(exampleAssetsDir, 'director', 'hello.js')).href);
    assert.match(hello.text, /main/);
    const sibling = await assets.fetchSiblingJson('hello.js');
    assert.equal(typeof sibling?.interval, 'number');
  });
});

describe('script origins (DIRECTOR_SCRIPT_ORIGINS)', () => {
  test('URLs outside the allowed prefixes are SCRIPT_ORIGIN_REJECTED; names under the assets URL always pass', () => {
    const assets = assetsFor({ assetsUrl: 'http://assets.internal:8080', scriptOrigins: ['https://trusted.example.org/'] });
    assert.equal(assets.resolveScriptUrl('https://trusted.example.org/a.js'), 'https://trusted.example.org/a.js');
    assert.equal(assets.resolveScriptUrl('ok.js'), 'http://assets.internal:8080/api/v1/public/director/ok.js');
    const rejected = (error: unknown): boolean => isDirectorError(error) && error.code === 'SCRIPT_ORIGIN_REJECTED' && error.status === 400;
    assert.throws(() => assets.resolveScriptUrl('https://evil.example.com/a.js'), rejected);
    // Checked as it will be fetched: dot segments, written plainly or percent-encoded, are resolved first.
    const scoped = assetsFor({ assetsUrl: 'http://assets.internal:8080', scriptOrigins: ['https://trusted.example.org/ok/'] });
    assert.throws(() => scoped.resolveScriptUrl('https://trusted.example.org/ok/../evil/a.js'), rejected);
    assert.throws(() => scoped.resolveScriptUrl('https://trusted.example.org/ok/%2e%2e/evil/a.js'), rejected);
    assert.equal(scoped.resolveScriptUrl('https://trusted.example.org/ok/./a.js'), 'https://trusted.example.org/ok/a.js');
    scoped.close();
    assets.close();
  });
});
