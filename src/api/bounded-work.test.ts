// Bounded work per request: a cap on ?field= filters (each count is a statement the store keeps), and
// on the bytes of a runs page, whose runs leave out results and logs unless asked for.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../test/support/director-harness.js';
import { MAX_FILTERS } from './routes/tasks.js';

describe('bounded work per request', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { DIRECTOR_RUNS_PAGE_MAX_BYTES: String(1024 * 1024) } });
    h.assets.setScript('big.js', 'module.exports.main = () => { console.log("l".repeat(100000)); return "r".repeat(200000); };');
    for (const id of ['f1', 'f2']) assert.equal((await h.call('POST', '/api/v1/tasks', { id, script: 'big.js', owner: id === 'f1' ? 'ann' : 'bob' })).status, 200);
  });
  after(async () => h.close());

  it(`accepts up to ${MAX_FILTERS} ?field= filters and refuses more, naming the field`, async () => {
    const filters = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? 'owner=ann' : `k${i}=`)).join('&');
    const one = await h.call('GET', '/api/v1/tasks?owner=ann');
    assert.deepEqual(one.body.map((t: { id: string }) => t.id), ['f1']);
    assert.equal((await h.call('GET', `/api/v1/tasks?${filters(MAX_FILTERS)}&limit=5`)).status, 200);
    for (let n = MAX_FILTERS + 1; n < 400; n += 7) {
      const answer = await h.call('GET', `/api/v1/tasks?${filters(n)}`);
      assert.equal(answer.status, 400, String(n));
      assert.equal(answer.body.error, 'INVALID_QUERY');
      assert.equal(answer.body.field, `k${MAX_FILTERS}`);
    }
  });

  it('lists runs without results and logs unless asked for, and ends a page before its byte cap', async () => {
    for (let i = 0; i < 8; i++) assert.equal((await h.call('POST', '/api/v1/tasks/f1/run')).status, 200);
    const lean = await h.request({ method: 'GET', url: '/api/v1/tasks/f1/runs?limit=1000' });
    const leanBody = JSON.parse(lean.body);
    assert.equal(leanBody.runs.length, 8);
    assert.ok(lean.body.length < 10_000, `a page of 8 runs is small without results and logs (${lean.body.length} bytes)`);
    for (const run of leanBody.runs) {
      assert.ok(!('result' in run) && !('logs' in run));
      assert.equal(run.status, 'succeeded');
    }
    assert.equal(leanBody.truncated, undefined);

    const seen: number[] = [];
    let offset = 0;
    for (let pages = 0; pages < 10; pages++) {
      const page = await h.request({ method: 'GET', url: `/api/v1/tasks/f1/runs?limit=1000&offset=${offset}&include=result,logs` });
      assert.ok(page.body.length <= 1024 * 1024 + 200, `a page stays under the cap (${page.body.length} bytes)`);
      const body = JSON.parse(page.body);
      for (const run of body.runs) {
        assert.equal(run.result.length, 200_000);
        assert.match(run.logs, /^l{100000}/);
        seen.push(run.id);
      }
      if (!body.truncated) break;
      assert.equal(body.nextOffset, offset + body.runs.length);
      offset = body.nextOffset;
    }
    assert.deepEqual(seen, leanBody.runs.map((r: { id: number }) => r.id), 'the pages together hold every run once, newest first');
    assert.ok(offset > 0, 'the cap split the runs over pages');

    const onlyResult = JSON.parse((await h.request({ method: 'GET', url: '/api/v1/tasks/f1/runs?limit=1&include=result' })).body);
    assert.ok('result' in onlyResult.runs[0] && !('logs' in onlyResult.runs[0]));
    assert.equal((await h.call('GET', '/api/v1/tasks/f1/runs?include=secrets')).status, 400);
    const one = await h.call('GET', `/api/v1/tasks/f1/runs/${leanBody.runs[0].id}`);
    assert.equal(one.body.result.length, 200_000, 'one run is read whole');
  });
});
