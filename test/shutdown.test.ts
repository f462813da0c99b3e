// Graceful shutdown of a real process: SIGTERM during a long run lets it finish within the grace
// period (or kills it and records why), closes the store and exits 0; a second signal exits at once.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { RunRecord } from '../src/domain/run.js';
import { startAssetsServer, type AssetsServer } from './support/assets-server.js';
import { startDirectorProcess, type DirectorProcess } from './support/director-process.js';
import { eventually, within } from './support/wait.js';

// Tells the assets server it is running (so the test signals at the right moment), then ignores its
// abort signal on purpose: only the grace period decides whether it may finish.
const slowScript = (assetsUrl: string) => `
  module.exports.main = (config, context) => new Promise((resolve) => {
    require('http').get('${assetsUrl}/started/' + config.mark, (res) => res.resume()).on('error', () => {});
    setTimeout(() => resolve({ slept: 2000 }), 2000);
  });`;

describe('shutdown', () => {
  let assets: AssetsServer;
  const dirs: string[] = [];
  const started: DirectorProcess[] = [];
  before(async () => {
    assets = await startAssetsServer();
    assets.setScript('slow.js', slowScript(assets.url));
  });
  after(async () => {
    // A failed case must not leave its Director running.
    for (const director of started) if (director.child.exitCode === null && director.child.signalCode === null) director.kill('SIGKILL');
    await assets.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A Director with one slow task whose manual run is under way. */
  async function startSlowRun(graceMs: number): Promise<{ director: DirectorProcess; dataDir: string; answer: Promise<Response | Error> }> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'director-shutdown-'));
    dirs.push(dataDir);
    const director = await startDirectorProcess({
      DIRECTOR_DATA_DIR: dataDir, DIRECTOR_ASSETS_URL: assets.url, DIRECTOR_EXECUTORS: '1', DIRECTOR_SHUTDOWN_GRACE_MS: String(graceMs),
    });
    started.push(director);
    const created = await fetch(`${director.url}/api/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'slow', script: 'slow.js', running: false, config: { mark: dataDir.slice(-6) } }),
    });
    assert.equal(created.status, 200);
    const answer = fetch(`${director.url}/api/v1/tasks/slow/run`, { method: 'POST' }).catch((error: Error) => error);
    // The script itself must be running, not only its row: it calls home once main() has begun.
    await assets.waitForRequest((request) => request.path === `/started/${dataDir.slice(-6)}`, 10_000);
    return { director, dataDir, answer };
  }

  async function storedRuns(dataDir: string): Promise<RunRecord[]> {
    const store = await openSqliteStore({ file: path.join(dataDir, 'director.sqlite') });
    try {
      return await store.listRuns('slow');
    } finally {
      await store.close();
    }
  }

  it('lets a running script finish within the grace period, answers its client, and exits 0', async () => {
    const { director, dataDir, answer } = await startSlowRun(10_000);
    const signalledAt = Date.now();
    director.kill('SIGTERM');
    const response = await within(answer, 10_000, 'the /run answer');
    assert.ok(response instanceof Response, `the client got an answer: ${String(response)}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { slept: 2000 });
    assert.equal(await within(director.exited, 10_000, 'exit'), 0, director.output());
    assert.ok(Date.now() - signalledAt < 9_000, 'it did not wait for the whole grace period');
    const [run] = await storedRuns(dataDir);
    assert.equal(run?.status, 'succeeded');
    assert.match(director.output(), /stopped cleanly/);
    assert.match(director.output(), /"msg":"run finished"/);
  });

  it('kills a script still running when the grace period ends, records it as killed, and exits 0', async () => {
    const { director, dataDir, answer } = await startSlowRun(300);
    const signalledAt = Date.now();
    director.kill('SIGTERM');
    assert.equal(await within(director.exited, 10_000, 'exit'), 0, director.output());
    assert.ok(Date.now() - signalledAt < 1_900, `exited before the script would have finished (${Date.now() - signalledAt} ms)`);
    await answer;
    const [run] = await storedRuns(dataDir);
    assert.equal(run?.status, 'failed');
    assert.equal(run?.error?.stage, 'shutdown');
    assert.match(run?.error?.message ?? '', /300 ms shutdown grace/);
  });

  it('exits at once on a second signal', async () => {
    const { director } = await startSlowRun(30_000);
    director.kill('SIGTERM');
    await eventually(() => director.output().includes('stopping:'), 5_000, 'the first signal to be handled');
    const secondAt = Date.now();
    director.kill('SIGINT');
    const code = await within(director.exited, 5_000, 'exit after the second signal');
    assert.ok(Date.now() - secondAt < 1_500, 'no waiting for the run');
    assert.notEqual(code, 0, 'an interrupted shutdown is not a clean exit');
    assert.match(director.output(), /second signal/);
  });
});
