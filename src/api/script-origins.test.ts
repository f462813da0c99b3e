// DIRECTOR_SCRIPT_ORIGINS: a task whose script URL is outside the allowed prefixes is refused with 400
// on create and replace, and nothing is stored.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../test/support/director-harness.js';

const SCRIPT = 'module.exports.main = () => ({ ok: true });';

describe('script origins', () => {
  const ALLOWED = 'https://scripts.example/ok/';
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { DIRECTOR_SCRIPT_ORIGINS: ALLOWED } });
    h.assets.setScript('ok.js', SCRIPT);
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'existing', script: 'ok.js', running: false })).status, 200);
  });
  after(async () => h.close());

  // Full schedules, so that no sibling X.json is fetched before the origin check.
  const schedule = { init: '2030-01-01T00:00:00Z', end: '2031-01-01T00:00:00Z', interval: 60_000 };
  const outside = [
    'https://evil.example/x.js',
    'https://scripts.example/okx/x.js',
    'https://scripts.example.evil.example/ok/x.js',
    'http://scripts.example/ok/x.js',
  ];
  // The prefix check compares the URL as written; fetch normalises dot segments afterwards.
  const traversal = ['https://scripts.example/ok/../evil/x.js', 'https://scripts.example/ok/%2e%2e/evil/x.js'];
  for (const script of [...outside, ...traversal]) {
    it(`rejects ${script} with 400 on POST and PUT, storing nothing`, async () => {
      for (const [method, url, id] of [['POST', '/api/v1/tasks', 'outside'], ['PUT', '/api/v1/tasks/existing', 'existing']] as const) {
        const before = await h.director.store.listTasks();
        const response = await h.call(method, url, { id, script, running: true, ...schedule });
        assert.equal(response.status, 400, `${method} ${script}: ${JSON.stringify(response.body)}`);
        assert.equal(response.body.code, 400);
        assert.deepEqual(await h.director.store.listTasks(), before, 'nothing stored');
      }
      assert.equal(await h.director.store.getTask('outside'), undefined);
    });
  }

  it('accepts scripts under an allowed origin and under the assets', async () => {
    const inside = await h.call('POST', '/api/v1/tasks', { id: 'inside', script: `${ALLOWED}x.js`, running: false, ...schedule });
    assert.equal(inside.status, 200, JSON.stringify(inside.body));
    const named = await h.call('POST', '/api/v1/tasks', { id: 'named', script: 'ok.js', running: false });
    assert.equal(named.status, 200, JSON.stringify(named.body));
  });
});
