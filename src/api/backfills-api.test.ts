// Backfills over the HTTP API with real executors and a real assets server, on a fake clock: the
// script gets each slot as context.slot; bad requests get a 400 naming the field and store nothing;
// overlapping ranges get a 409; cancel; roles.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { startHarness, type Harness } from '../../test/support/director-harness.js';

const at = (iso: string): number => Date.parse(iso);
const HOUR = 3_600_000;

/** Polls the API (real time: scripts run in real executors) until `check` holds; 20 s at most. */
async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('backfills over the API', () => {
  let h: Harness;
  let clock: FakeClock;
  before(async () => {
    clock = new FakeClock(at('2030-01-02T12:00:00Z'));
    h = await startHarness({ clock, config: { backfillMaxSlots: 30 } });
    h.assets.setScript('period.js', 'module.exports.main = (config, context) => ({ slot: context.slot, trigger: context.trigger, attempt: context.attempt, site: config.site });');
    h.assets.setScript('slow.js', 'module.exports.main = () => new Promise((resolve) => setTimeout(() => resolve(1), 150));');
    const hourly = { script: 'period.js', running: false, init: '2030-01-01T00:00:00Z', interval: HOUR, config: { site: 'madrid' } };
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'sla', ...hourly })).status, 200);
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'slow', ...hourly, script: 'slow.js' })).status, 200);
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'on-demand', script: 'period.js' })).status, 200);
  });
  after(async () => h.close());

  const get = (id: number) => h.call('GET', `/api/v1/backfills/${id}`).then((r) => r.body);

  it('runs each slot of [from, to) with the slot in context, and records the runs in the history', async () => {
    const created = await h.call('POST', '/api/v1/tasks/sla/backfills', { from: '2030-01-01T02:00:00Z', to: '2030-01-01T05:00:00Z', concurrency: 2 });
    assert.equal(created.status, 201);
    const backfill = created.body;
    assert.equal(created.headers.location, `/api/v1/backfills/${backfill.id}`);
    assert.equal(backfill.taskId, 'sla');
    assert.equal(backfill.slots, 3);
    assert.equal(backfill.concurrency, 2);
    assert.equal(backfill.from, '2030-01-01T02:00:00.000Z');
    assert.deepEqual(backfill.schedule, { interval: HOUR, init: '2030-01-01T00:00:00.000Z', end: null });
    assert.equal(backfill.requestedBy, 'anonymous');

    const done = await until('it completed', () => get(backfill.id), (b) => b.status === 'completed');
    assert.deepEqual(done.counts, { pending: 0, running: 0, succeeded: 3, failed: 0, timed_out: 0, skipped: 0, lost: 0 });
    assert.ok(done.finishedAt);

    const runs = (await h.call('GET', '/api/v1/tasks/sla/runs?include=result')).body.runs as Array<Record<string, any>>;
    const mine = runs.filter((r) => r.backfillId === backfill.id).sort((a, b) => a.slot - b.slot);
    assert.deepEqual(mine.map((r) => r.slotAt), ['2030-01-01T02:00:00.000Z', '2030-01-01T03:00:00.000Z', '2030-01-01T04:00:00.000Z']);
    for (const run of mine) {
      assert.equal(run.trigger, 'backfill');
      assert.equal(run.status, 'succeeded');
      assert.deepEqual(run.result, { slot: run.slot, trigger: 'backfill', attempt: 1, site: 'madrid' });
    }
    assert.deepEqual((await h.call('GET', '/api/v1/tasks/sla/backfills')).body.map((b: { id: number }) => b.id), [backfill.id]);
  });

  it('refuses bad requests with a 400 naming the field, and stores nothing', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['no from', { to: '2030-01-01T05:00:00Z' }, 'from'],
      ['an unreadable date', { from: 'yesterday', to: '2030-01-01T05:00:00Z' }, 'from'],
      ['to before from', { from: '2030-01-01T05:00:00Z', to: '2030-01-01T02:00:00Z' }, 'to'],
      ['to in the future', { from: '2030-01-02T00:00:00Z', to: '2030-01-02T13:00:00Z' }, 'to'],
      ['no slot in the range', { from: '2029-12-01T00:00:00Z', to: '2029-12-31T00:00:00Z' }, 'from'],
      ['more slots than DIRECTOR_BACKFILL_MAX_SLOTS (36 > 30)', { from: '2030-01-01T00:00:00Z', to: '2030-01-02T12:00:00Z' }, 'to'],
      ['concurrency 0', { from: '2030-01-01T02:00:00Z', to: '2030-01-01T03:00:00Z', concurrency: 0 }, 'concurrency'],
      ['concurrency past the bound', { from: '2030-01-01T02:00:00Z', to: '2030-01-01T03:00:00Z', concurrency: 101 }, 'concurrency'],
    ];
    const before = (await h.call('GET', '/api/v1/backfills')).body.length;
    for (const [name, body, field] of cases) {
      const answer = await h.call('POST', '/api/v1/tasks/sla/backfills', body);
      assert.equal(answer.status, 400, `${name}: ${JSON.stringify(answer.body)}`);
      if (answer.body.field !== undefined) assert.equal(answer.body.field, field, name);
      assert.match(answer.body.message, new RegExp(field), name);
    }
    const unknownField = await h.call('POST', '/api/v1/tasks/sla/backfills', { from: '2030-01-01T02:00:00Z', to: '2030-01-01T03:00:00Z', parallel: 3 });
    assert.equal(unknownField.status, 400);
    const onDemand = await h.call('POST', '/api/v1/tasks/on-demand/backfills', { from: '2030-01-01T02:00:00Z', to: '2030-01-01T03:00:00Z' });
    assert.equal(onDemand.status, 400);
    assert.match(onDemand.body.message, /neither interval nor cron/);
    assert.equal((await h.call('POST', '/api/v1/tasks/nope/backfills', { from: '2030-01-01T02:00:00Z', to: '2030-01-01T03:00:00Z' })).status, 404);
    assert.equal((await h.call('GET', '/api/v1/tasks/nope/backfills')).status, 404);
    assert.equal((await h.call('GET', '/api/v1/backfills/999999')).status, 404);
    assert.equal((await h.call('POST', '/api/v1/backfills/999999/cancel')).status, 404);
    assert.equal((await h.call('GET', '/api/v1/backfills')).body.length, before, 'nothing was stored');
  });

  it('refuses a range overlapping an active backfill with a 409, accepts one beside it, and cancels', async () => {
    const first = (await h.call('POST', '/api/v1/tasks/slow/backfills', { from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z' })).body;
    assert.equal(first.slots, 24);
    const overlapping = await h.call('POST', '/api/v1/tasks/slow/backfills', { from: '2030-01-01T23:00:00Z', to: '2030-01-02T02:00:00Z' });
    assert.equal(overlapping.status, 409);
    assert.equal(overlapping.body.error, 'BACKFILL_OVERLAPS');
    assert.equal(overlapping.body.backfillId, first.id);
    const beside = await h.call('POST', '/api/v1/tasks/slow/backfills', { from: '2030-01-02T00:00:00Z', to: '2030-01-02T02:00:00Z' });
    assert.equal(beside.status, 201);

    await until('a run of the first has started', () => get(first.id), (b) => b.counts.pending < 24);
    const cancelled = await h.call('POST', `/api/v1/backfills/${first.id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.ok(['cancelling', 'cancelled'].includes(cancelled.body.status), cancelled.body.status);
    assert.equal(cancelled.body.reason, 'cancelled by anonymous');
    const ended = await until('it is cancelled', () => get(first.id), (b) => b.status === 'cancelled');
    assert.ok(ended.counts.pending > 0, 'slots after the cancel never ran');
    assert.equal(ended.counts.running, 0);
    const ranAfter = (await h.call('GET', '/api/v1/tasks/slow/runs?limit=1000')).body.runs.filter((r: { backfillId: number }) => r.backfillId === first.id).length;
    assert.equal(ranAfter, 24 - ended.counts.pending);
    const again = await h.call('POST', `/api/v1/backfills/${first.id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'BACKFILL_ENDED');
    await until('the one beside it completed', () => get(beside.body.id), (b) => b.status === 'completed');
    const listed = (await h.call('GET', '/api/v1/tasks/slow/backfills?status=cancelled')).body;
    assert.deepEqual(listed.map((b: { id: number }) => b.id), [first.id]);
  });
});

describe('backfills and roles', () => {
  let h: Harness;
  const tokens = { viewer: 'v'.repeat(32), operator: 'o'.repeat(32) };
  before(async () => {
    const clock = new FakeClock(at('2030-01-02T12:00:00Z'));
    h = await startHarness({ clock, env: { DIRECTOR_API_TOKENS: `ann:viewer:${tokens.viewer},bob:operator:${tokens.operator}` } });
    h.assets.setScript('period.js', 'module.exports.main = () => 1;');
  });
  after(async () => h.close());

  it('operators start and cancel backfills, viewers only read them', async () => {
    const as = (who: keyof typeof tokens) => ({ authorization: `Bearer ${tokens[who]}`, 'content-type': 'application/json' });
    // Tasks are written by admins; no admin token here, so the store takes it directly.
    const { parseTask } = await import('../domain/task.js');
    const now = at('2030-01-02T12:00:00Z');
    await h.director.store.putTask(parseTask({ id: 'sla', script: 'period.js', running: false, init: '2030-01-01T00:00:00Z', interval: HOUR }, { fallbackId: 'x', createdMs: now, nowMs: now }));
    const body = JSON.stringify({ from: '2030-01-01T00:00:00Z', to: '2030-01-01T02:00:00Z' });
    const denied = await h.request({ method: 'POST', url: '/api/v1/tasks/sla/backfills', headers: as('viewer'), payload: body });
    assert.equal(denied.statusCode, 403);
    const created = await h.request({ method: 'POST', url: '/api/v1/tasks/sla/backfills', headers: as('operator'), payload: body });
    assert.equal(created.statusCode, 201);
    const backfill = JSON.parse(created.body);
    assert.equal(backfill.requestedBy, 'bob');
    const seen = await h.request({ method: 'GET', url: `/api/v1/backfills/${backfill.id}`, headers: as('viewer') });
    assert.equal(seen.statusCode, 200);
    assert.equal((await h.request({ method: 'POST', url: `/api/v1/backfills/${backfill.id}/cancel`, headers: as('viewer') })).statusCode, 403);
    assert.equal((await h.request({ method: 'GET', url: '/api/v1/backfills' })).statusCode, 401);
  });
});
