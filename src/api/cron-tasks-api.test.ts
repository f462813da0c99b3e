// Cron tasks through the HTTP API on a fake clock: create, /status, /slots across a DST day, 400s that
// name the field and change nothing, X.json filling cron and timezone, the OpenAPI document.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { startHarness, type Harness } from '../../test/support/director-harness.js';

const at = (iso: string): number => Date.parse(iso);

describe('cron tasks over the API', () => {
  let h: Harness;
  let clock: FakeClock;
  before(async () => {
    clock = new FakeClock(at('2026-03-28T12:00:00Z'));
    h = await startHarness({ clock });
    h.assets.setScript('hello.js', 'module.exports.main = () => "hi";');
  });
  after(async () => h.close());

  it('creates a cron task verbatim; /status and /slots give its instants, skipping the spring-forward gap', async () => {
    const body = { id: 'madrid', script: 'hello.js', running: true, cron: '30 2 * * *', timezone: 'Europe/Madrid', tags: ['nightly'] };
    const created = await h.call('POST', '/api/v1/tasks', body);
    assert.equal(created.status, 200);
    assert.deepEqual(created.body, body);
    assert.deepEqual((await h.call('GET', '/api/v1/tasks/madrid')).body, body);

    const status = (await h.call('GET', '/api/v1/tasks/madrid/status')).body;
    assert.equal(status.cron, '30 2 * * *');
    assert.equal(status.timezone, 'Europe/Madrid');
    assert.equal(status.onDemand, false);
    assert.equal(status.interval, null);
    // 29 March has no 02:30 in Madrid: the next slot is 02:30 CEST on the 30th.
    assert.equal(status.nextExecution, String(at('2026-03-30T00:30:00Z')));

    const slots = (await h.call('GET', '/api/v1/tasks/madrid/slots?count=3')).body;
    assert.deepEqual(slots.slots.map((s: { at: string }) => s.at), ['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z', '2026-04-01T00:30:00.000Z']);
  });

  it('defaults the zone to UTC', async () => {
    await h.call('POST', '/api/v1/tasks', { id: 'utc', script: 'hello.js', running: true, cron: '0 13 * * *' });
    const status = (await h.call('GET', '/api/v1/tasks/utc/status')).body;
    assert.equal(status.timezone, 'UTC');
    assert.equal(status.nextExecutionDate, '2026-03-28T13:00:00.000Z');
  });

  describe('bad input gets a 400 naming the field and changes nothing', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['interval and cron', { interval: 60_000, cron: '0 3 * * *' }, 'cron'],
      ['a bad expression', { cron: '0 25 * * *' }, 'cron'],
      ['seven fields', { cron: '0 0 3 * * * 2030' }, 'cron'],
      ['an unknown zone', { cron: '0 3 * * *', timezone: 'Europe/Atlantis' }, 'timezone'],
      ['a timezone without cron', { interval: 60_000, timezone: 'Europe/Madrid' }, 'timezone'],
    ];
    for (const [name, fields, field] of cases) {
      it(`${name} → 400 on ${field}`, async () => {
        const before = (await h.call('GET', '/api/v1/tasks')).body.length;
        const posted = await h.call('POST', '/api/v1/tasks', { id: `bad-${field}`, script: 'hello.js', running: true, ...fields });
        assert.equal(posted.status, 400);
        assert.equal(posted.body.field, field);
        assert.match(posted.body.message, new RegExp(`^${field}: `));
        assert.equal((await h.call('GET', `/api/v1/tasks/bad-${field}`)).status, 404);
        assert.equal((await h.call('GET', '/api/v1/tasks')).body.length, before);
        // A replacement of an existing task with the same body leaves the task as it was.
        const put = await h.call('PUT', '/api/v1/tasks/madrid', { script: 'hello.js', running: true, ...fields });
        assert.equal(put.status, 400);
        assert.equal((await h.call('GET', '/api/v1/tasks/madrid')).body.cron, '30 2 * * *');
      });
    }
  });

  it('takes cron and timezone from X.json when the request names neither interval nor cron', async () => {
    h.assets.setScript('nightly.js', 'module.exports.main = () => 1;');
    h.assets.setJson('nightly.json', { cron: '0 1 * * *', timezone: 'America/New_York', init: '2026-01-01T00:00:00Z' });
    const filled = await h.call('POST', '/api/v1/tasks', { id: 'nightly', script: 'nightly.js', running: true });
    assert.equal(filled.status, 200);
    assert.equal(filled.body.cron, '0 1 * * *');
    assert.equal(filled.body.timezone, 'America/New_York');
    assert.equal((await h.call('GET', '/api/v1/tasks/nightly/status')).body.nextExecutionDate, '2026-03-29T05:00:00.000Z');

    // A request with its own interval keeps it: the sibling's cron and timezone are not taken.
    const own = await h.call('POST', '/api/v1/tasks', { id: 'nightly-interval', script: 'nightly.js', running: true, interval: 60_000 });
    assert.equal(own.status, 200);
    assert.equal(own.body.cron, undefined);
    assert.equal(own.body.timezone, undefined);
    assert.equal(own.body.init, '2026-01-01T00:00:00Z');

    h.assets.setScript('both.js', 'module.exports.main = () => 1;');
    h.assets.setJson('both.json', { cron: '0 1 * * *', interval: 5000 });
    const both = await h.call('POST', '/api/v1/tasks', { id: 'both', script: 'both.js', running: true });
    assert.equal(both.status, 400);
    assert.equal(both.body.field, 'cron');
    assert.match(both.body.message, /both\.json/);
  });

  it('documents cron and timezone in the OpenAPI task body', async () => {
    const doc = (await h.call('GET', '/docs/json')).body;
    const text = JSON.stringify(doc);
    assert.match(text, /"cron":\{/);
    assert.match(text, /"timezone":\{/);
  });
});
