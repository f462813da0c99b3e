// The execution layer with a real Director in process (real SQLite, real executors, a real assets
// server on loopback): waiting runs in parallel, honest start times, and runs cancelled before they start.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startHarness, type Harness } from './support/director-harness.js';
import { eventually } from './support/wait.js';

/** A script that returns when main() was entered, on this machine's clock, after waiting `config.waitMs`. */
const ENTRY_STAMP = 'module.exports.main = async (config) => { const entered = Date.now(); await new Promise((r) => setTimeout(r, config.waitMs)); return { entered }; };';

async function finishedRuns(h: Harness, id: string, count: number): Promise<any[]> {
  let runs: any[] = [];
  await eventually(async () => {
    const answer = await h.call('GET', `/api/v1/tasks/${id}/runs?limit=100&include=result,logs`);
    runs = ((answer.body as { runs: any[] }).runs ?? []).filter((run) => run.status !== 'running');
    return runs.length >= count;
  }, 30_000, `${count} finished runs of ${id}`);
  return runs;
}

describe('execution', () => {
  test('runs waiting on I/O do not queue behind each other: six 1 s scripts on one slot all enter at once', async () => {
    // More slow tasks than executors and than this machine's cores.
    const h = await startHarness({ config: { executors: 2 } });
    try {
      h.assets.setScript('stamp.js', ENTRY_STAMP);
      const slot = Math.ceil((Date.now() + 2500) / 1000) * 1000;
      const ids = Array.from({ length: 6 }, (_, i) => `slow-${i}`);
      for (const id of ids) {
        const created = await h.call('POST', '/api/v1/tasks', { id, script: h.assets.scriptUrl('stamp.js'), running: true, init: slot, interval: 60_000, config: { waitMs: 1000 } });
        assert.equal(created.status, 200);
      }
      const runs = await Promise.all(ids.map(async (id) => (await finishedRuns(h, id, 1))[0]));
      for (const run of runs) assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const entered = runs.map((run) => run.result.entered - slot);
      // Queued behind each other they would enter 1 s apart; together they all enter within a fraction of it.
      assert.ok(Math.max(...entered) < 700, `entered at +${entered.join(', +')} ms`);
    } finally {
      await h.close();
    }
  });

  test('recorded lateness is when main() was really entered, queue wait included, while every place is taken', async () => {
    // One run in progress at a time: the second task's run waits for the first one's 1.5 s.
    const h = await startHarness({ config: { executors: 1, maxRuns: 1 } });
    try {
      h.assets.setScript('stamp.js', ENTRY_STAMP);
      const slot = Math.ceil((Date.now() + 2500) / 1000) * 1000;
      for (const id of ['first', 'second']) {
        await h.call('POST', '/api/v1/tasks', { id, script: h.assets.scriptUrl('stamp.js'), running: true, init: slot, interval: 60_000, config: { waitMs: 1500 } });
      }
      const [first] = await finishedRuns(h, 'first', 1);
      const [second] = await finishedRuns(h, 'second', 1);
      const late = [first, second].sort((a, b) => a.startedMs - b.startedMs)[1];
      const entered = late.result.entered;
      assert.ok(Math.abs(late.startedMs - entered) <= 5, `recorded start ${late.startedMs}, main() entered at ${entered}`);
      assert.equal(late.latenessMs, late.startedMs - slot);
      assert.ok(late.latenessMs >= 1400, `the queued run waited for the other one: lateness ${late.latenessMs} ms`);
      assert.ok(late.queuedMs <= slot + 200 && late.startedMs - late.queuedMs >= 1400, `queued at ${late.queuedMs - slot} ms, started at ${late.startedMs - slot} ms`);
      const status = await h.call('GET', `/api/v1/tasks/${late.taskId}/status`);
      if (status.body.lastRun.id === late.id) {
        assert.equal(status.body.lastRun.latenessMs, late.latenessMs);
        assert.equal(status.body.lastRun.queueWaitMs, late.startedMs - late.queuedMs);
      }
      assert.equal(late.queueWaitMs, late.startedMs - late.queuedMs);
    } finally {
      await h.close();
    }
  });

  for (const change of ['stop', 'delete', 'replace'] as const) {
    test(`a run still queued when its task is ${change === 'stop' ? 'stopped' : change === 'delete' ? 'deleted' : 'replaced'} never fetches its script and is recorded as skipped`, async () => {
      const h = await startHarness({ config: { executors: 1, maxRuns: 1 } });
      try {
        h.assets.setScript('blocker.js', 'module.exports.main = () => new Promise((r) => setTimeout(r, 2500));');
        h.assets.setScript('victim.js', 'module.exports.main = () => "ran";');
        const slot = Math.ceil((Date.now() + 2500) / 1000) * 1000;
        await h.call('POST', '/api/v1/tasks', { id: 'blocker', script: h.assets.scriptUrl('blocker.js'), running: true, init: slot - 500, interval: 60_000 });
        const victims = ['v1', 'v2', 'v3'];
        for (const id of victims) await h.call('POST', '/api/v1/tasks', { id, script: h.assets.scriptUrl('victim.js'), running: true, init: slot, interval: 60_000 });
        // The blocker holds the only place; the victims' runs are claimed and queued behind it.
        await eventually(async () => /^director_runs_queued 3$/m.test((await h.request({ method: 'GET', url: '/metrics' })).body), 10_000, 'three queued runs');
        for (const id of victims) {
          const answer = change === 'stop' ? await h.call('POST', `/api/v1/tasks/${id}/status/stop`)
            : change === 'delete' ? await h.call('DELETE', `/api/v1/tasks/${id}`)
            : await h.call('PUT', `/api/v1/tasks/${id}`, { id, script: h.assets.scriptUrl('victim.js'), running: true, init: slot + 60_000, interval: 60_000, config: { v: 2 } });
          assert.ok(answer.status < 300, `${change} answered ${answer.status}`);
        }
        const answeredAt = h.assets.requests.length;
        const runs = (await Promise.all(victims.map((id) => finishedRuns(h, id, 1)))).map((list) => list[0]);
        for (const run of runs) {
          assert.equal(run.status, 'skipped');
          assert.match(run.error.message, /stopped, deleted or replaced/);
        }
        await finishedRuns(h, 'blocker', 1);
        const fetched = h.assets.requests.slice(answeredAt).filter((r) => r.path.endsWith('/victim.js'));
        assert.deepEqual(fetched, [], 'no fetch began for a victim after the change was answered');
      } finally {
        await h.close();
      }
    });
  }
});
