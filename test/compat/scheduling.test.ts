// COMPAT statements 14 and 21–24: scheduling through the whole Director, time driven by a fake clock,
// scripts run for real in executors fetched from a loopback assets server.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/testing/fake-clock.js';
import type { RunRecord } from '../../src/domain/run.js';
import { startHarness, type Harness } from '../support/director-harness.js';
import { eventually, within } from '../support/wait.js';

describe('COMPAT 14, 21–24: scheduling', () => {
  let h: Harness;
  let clock: FakeClock;
  before(async () => {
    clock = new FakeClock(Date.now());
    h = await startHarness({ clock, config: { executors: 2 } });
    h.assets.setScript('tick.js', 'module.exports.main = (config, context) => ({ slot: context.slot, v: 1 });');
  });
  after(async () => h.close());

  async function runsOf(id: string): Promise<RunRecord[]> {
    return (await h.call('GET', `/api/v1/tasks/${id}/runs?limit=1000&include=result,logs`)).body.runs;
  }

  async function finished(id: string, count: number): Promise<RunRecord[]> {
    return eventually(async () => {
      const runs = (await runsOf(id)).filter((r) => r.status !== 'running');
      return runs.length >= count ? runs : undefined;
    }, 10_000, `${count} finished runs of ${id}`);
  }

  it('COMPAT 21: a running task runs at init + k·interval; past slots are not replayed; the first run is the next slot', async () => {
    const now = clock.now();
    const init = now - 10_500;
    await h.call('POST', '/api/v1/tasks', { id: 'c21', script: 'tick.js', running: true, init, interval: 1000 });
    await clock.advance(499);
    assert.equal((await runsOf('c21')).length, 0, 'no run before the next slot, none replayed');
    // Each run is awaited before time moves on: a slot whose previous run still goes is skipped (overlap).
    await clock.advance(1);
    await finished('c21', 1);
    await clock.advance(1000);
    await finished('c21', 2);
    await clock.advance(1000);
    const runs = await finished('c21', 3);
    assert.deepEqual(runs.map((r) => r.slot).sort(), [init + 11_000, init + 12_000, init + 13_000]);
    assert.ok(runs.every((r) => r.status === 'succeeded'), JSON.stringify(runs));
    await h.call('DELETE', '/api/v1/tasks/c21');
  });

  it('COMPAT 14: after a stop or delete response no new scheduled run starts', async () => {
    const init = clock.now() + 100;
    await h.call('POST', '/api/v1/tasks', { id: 'c14-stop', script: 'tick.js', running: true, init, interval: 100 });
    await h.call('POST', '/api/v1/tasks', { id: 'c14-delete', script: 'tick.js', running: true, init, interval: 100 });
    await clock.advance(100);
    await finished('c14-stop', 1);
    await finished('c14-delete', 1);
    assert.equal((await h.call('POST', '/api/v1/tasks/c14-stop/status/stop')).status, 200);
    assert.equal((await h.call('DELETE', '/api/v1/tasks/c14-delete')).status, 202);
    for (let i = 0; i < 10; i++) await clock.advance(100);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await runsOf('c14-stop')).length, 1);
    assert.equal((await runsOf('c14-delete')).length, 1);
  });

  it('COMPAT 22: a running task past its end is deleted with its history kept; a stopped one is kept', async () => {
    const init = clock.now() + 100;
    await h.call('POST', '/api/v1/tasks', { id: 'c22-running', script: 'tick.js', running: true, init, interval: 100, end: init + 250 });
    await h.call('POST', '/api/v1/tasks', { id: 'c22-stopped', script: 'tick.js', running: false, init, interval: 100, end: init + 250 });
    for (let i = 0; i < 4; i++) await clock.advance(100);
    await eventually(async () => (await h.call('GET', '/api/v1/tasks/c22-running')).status === 404, 5000, 'the ended task to be deleted');
    const runs = await finished('c22-running', 3);
    assert.deepEqual(runs.map((r) => r.slot).sort(), [init, init + 100, init + 200]);
    assert.equal((await h.call('GET', '/api/v1/tasks/c22-stopped')).status, 200);
  });

  it('COMPAT 23: a slow script never delays another task\'s run', async () => {
    h.assets.setScript('slow.js', 'module.exports.main = () => new Promise((resolve) => setTimeout(() => resolve("slow"), 3000));');
    const init = clock.now() + 100;
    // More slow tasks than executors and than this machine's cores: none may hold the fast one back.
    const slowIds = Array.from({ length: 6 }, (_, i) => `c23-slow-${i}`);
    for (const id of slowIds) await h.call('POST', '/api/v1/tasks', { id, script: 'slow.js', running: true, init, interval: 60_000 });
    await h.call('POST', '/api/v1/tasks', { id: 'c23-fast', script: 'tick.js', running: true, init, interval: 60_000 });
    const fastDone = h.director.events.next('run:finished', (r) => r.taskId === 'c23-fast');
    await clock.advance(100);
    const fast = await within(fastDone, 2500, 'the fast task to finish while the slow ones run');
    assert.equal(fast.status, 'succeeded');
    for (const id of slowIds) assert.equal((await runsOf(id))[0]?.status, 'running', `${id} is still going`);
    for (const id of slowIds) await finished(id, 1);
    for (const id of [...slowIds, 'c23-fast']) await h.call('DELETE', `/api/v1/tasks/${id}`);
  });

  it('COMPAT 24: every run fetches the script again, so a changed script changes the next run', async () => {
    h.assets.setScript('versioned.js', 'module.exports.main = () => "v1"');
    const init = clock.now() + 100;
    await h.call('POST', '/api/v1/tasks', { id: 'c24', script: 'versioned.js', running: true, init, interval: 100 });
    await clock.advance(100);
    await finished('c24', 1);
    h.assets.setScript('versioned.js', 'module.exports.main = () => "v2"');
    await clock.advance(100);
    const runs = await finished('c24', 2);
    assert.deepEqual(runs.map((r) => r.result), ['v2', 'v1']);
    assert.notEqual(runs[0]!.scriptSha256, runs[1]!.scriptSha256);
    await h.call('DELETE', '/api/v1/tasks/c24');
  });
});
