// A run longer than its lease stays leased while this Director runs it: the runner's runs are held.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../test/support/director-harness.js';

describe('lease renewal of a real Director', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { leaseMs: 1000, scriptPolicy: 'trusted' } });
    h.assets.setScript('slow.js', 'module.exports.main = () => new Promise((resolve) => setTimeout(() => resolve(1), 2500));');
  });
  after(async () => {
    await h.close();
  });

  it('keeps renewing a manual run that outlasts its lease, so it is never declared lost', async () => {
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'slow', script: 'slow.js', running: false })).status, 200);
    const answer = await h.call('POST', '/api/v1/tasks/slow/run');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const runs = await h.director.store.listRuns('slow');
    assert.deepEqual(runs.map((r) => r.status), ['succeeded']);
  });
});
