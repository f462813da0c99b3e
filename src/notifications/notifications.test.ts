// Failure notifications end to end: a real Director (SQLite file, executors, loopback assets server)
// calling a real HTTP receiver on loopback.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { startHarness, type Harness } from '../../test/support/director-harness.js';
import { startWebhookReceiver, type ReceivedCall, type WebhookReceiver } from './testing/webhook-receiver.js';

const GLOBAL_SECRET = 'G1obal-S3cret-path';
const TEAM_SECRET = 'T3am-S3cret-path';
const FAILS = 'module.exports.main = () => { throw new Error("boom"); };';
const WORKS = 'module.exports.main = () => ({ ok: true });';

const byPath = (calls: readonly ReceivedCall[], fragment: string) => calls.filter((c) => c.path.includes(fragment));
const events = (calls: readonly ReceivedCall[]) => calls.map((c) => c.body.event).sort();

describe('failure notifications', () => {
  let receiver: WebhookReceiver;
  let h: Harness;
  before(async () => {
    receiver = await startWebhookReceiver();
    h = await startHarness({
      config: { notifyWebhooks: [`${receiver.url}/global/${GLOBAL_SECRET}`], publicUrl: 'https://director.example/ops', instanceId: 'director-test-1' },
    });
  });
  after(async () => {
    await h.close();
    await receiver.close();
  });
  beforeEach(() => {
    receiver.calls.length = 0;
  });

  it('sends failed for every failure, failing once at the N-th in a row, recovered at the next success', async () => {
    h.assets.setScript('flaky.js', FAILS);
    const team = `${receiver.url}/team/${TEAM_SECRET}`;
    const created = await h.call('POST', '/api/v1/tasks', {
      id: 'flaky', script: 'flaky.js', running: false, notify: { webhooks: [team], afterFailures: 2, events: ['failing', 'recovered'] },
    });
    assert.equal(created.status, 200);
    const runIds: number[] = [];
    const run = async (expectedCalls: number) => {
      const answer = await h.call('POST', '/api/v1/tasks/flaky/run');
      runIds.push(answer.body.runId ?? (await h.call('GET', '/api/v1/tasks/flaky/runs?limit=1')).body.runs[0].id);
      return receiver.received(expectedCalls);
    };
    // Global webhook: every event; the team's: failing and recovered. The threshold is the task's (2).
    await run(1);
    assert.deepEqual(events(receiver.calls), ['failed']);
    await run(4);
    assert.deepEqual(events(byPath(receiver.calls, '/global/')), ['failed', 'failed', 'failing']);
    assert.deepEqual(events(byPath(receiver.calls, '/team/')), ['failing']);
    await run(5);
    h.assets.setScript('flaky.js', WORKS);
    await run(7);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(receiver.calls.length, 7, 'no notification beyond those expected');
    assert.deepEqual(events(byPath(receiver.calls, '/global/')), ['failed', 'failed', 'failed', 'failing', 'recovered']);
    assert.deepEqual(events(byPath(receiver.calls, '/team/')), ['failing', 'recovered']);

    const failing = byPath(receiver.calls, '/team/').find((c) => c.body.event === 'failing')!;
    assert.equal(failing.headers['content-type'], 'application/json');
    assert.match(String(failing.headers['user-agent']), /^governify-director\/\d+\.\d+\.\d+/);
    const body = failing.body;
    assert.deepEqual(Object.keys(body), ['event', 'task', 'run', 'outcome', 'error', 'consecutiveFailures', 'link', 'director']);
    assert.deepEqual(body.task, { id: 'flaky', script: 'flaky.js' });
    assert.equal(body.run.id, runIds[1]);
    assert.equal(body.run.slot, null);
    assert.equal(body.run.trigger, 'manual');
    assert.equal(body.run.status, 'failed');
    assert.equal(body.run.attempt, 1);
    for (const instant of ['queuedAt', 'startedAt', 'finishedAt']) assert.match(body.run[instant], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(body.outcome, 'failed');
    assert.equal(body.error.stage, 'run');
    assert.equal(body.error.message, 'boom');
    assert.equal(body.consecutiveFailures, 2);
    assert.equal(body.link, `https://director.example/ops/#/tasks/flaky/runs/${runIds[1]}`);
    assert.equal(body.director, 'director-test-1');

    const recovered = byPath(receiver.calls, '/team/').find((c) => c.body.event === 'recovered')!.body;
    assert.equal(recovered.run.id, runIds[3]);
    assert.equal(recovered.outcome, 'succeeded');
    assert.equal(recovered.error, null);
    assert.equal(recovered.consecutiveFailures, 3, 'the length of the streak it ended');

    const metrics = (await h.request({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /director_notifications_total\{event="failed",outcome="delivered"\} 3/);
    assert.match(metrics, /director_notifications_total\{event="failing",outcome="delivered"\} 2/);
  });

  it('notifies a scheduled run with its slot; test runs and successes without a streak notify nothing', async () => {
    h.assets.setScript('tick.js', FAILS);
    assert.equal((await h.call('POST', '/api/v1/tasks/test', { scriptText: FAILS, scriptConfig: {} })).status, 500);
    h.assets.setScript('steady.js', WORKS);
    await h.call('POST', '/api/v1/tasks', { id: 'steady', script: 'steady.js', running: false });
    assert.equal((await h.call('POST', '/api/v1/tasks/steady/run')).status, 200);
    await h.call('POST', '/api/v1/tasks', { id: 'tick', script: 'tick.js', running: true, interval: 1000 });
    const [call] = await receiver.received(1);
    await h.call('POST', '/api/v1/tasks/tick/status/stop');
    assert.equal(call!.body.event, 'failed');
    assert.equal(call!.body.task.id, 'tick');
    assert.equal(call!.body.run.trigger, 'schedule');
    assert.match(call!.body.run.slot, /^\d{4}-.*Z$/);
    assert.ok(receiver.calls.every((c) => c.body.task.id === 'tick'), 'nothing for the test run nor for steady');
  });

  it('refuses bad notify settings with a 400 naming the field, and stores nothing', async () => {
    const cases: Array<[unknown, string]> = [
      ['hooks', 'notify'],
      [{ webhooks: 'https://hooks.example/x' }, 'notify.webhooks'],
      [{ webhooks: ['ftp://user:Bad-S3cret@files.example/x'] }, 'notify.webhooks[0]'],
      [{ webhooks: ['https://ok.example/x', 'not a url'] }, 'notify.webhooks[1]'],
      [{ webhooks: ['https://hooks.example/…'] }, 'notify.webhooks[0]'],
      [{ webhooks: Array.from({ length: 11 }, (_, i) => `https://hooks.example/${i}`) }, 'notify.webhooks'],
      [{ afterFailures: 0 }, 'notify.afterFailures'],
      [{ afterFailures: 2.5 }, 'notify.afterFailures'],
      [{ events: ['failed', 'exploded'] }, 'notify.events[1]'],
      [{ events: 'failed' }, 'notify.events'],
    ];
    for (const [notify, field] of cases) {
      const answer = await h.call('POST', '/api/v1/tasks', { id: 'bad-notify', script: 'x.js', notify });
      assert.equal(answer.status, 400, JSON.stringify(notify));
      assert.equal(answer.body.field, field, JSON.stringify(notify));
      assert.ok(!JSON.stringify(answer.body).includes('Bad-S3cret'), 'the error does not quote a URL');
      assert.equal((await h.call('GET', '/api/v1/tasks/bad-notify')).status, 404);
    }
  });

  it('masks webhook URLs in every answer, and keeps the stored URL when a masked one is written back', async () => {
    const slack = 'https://hooks.slack.com/services/T000/B000/Sl4ck-S3cret';
    const other = 'https://user:Us3r-S3cret@alerts.example/hook?token=Qu3ry-S3cret';
    const body = { id: 'masked', script: 'x.js', running: false, notify: { webhooks: [slack, other], afterFailures: 4 }, config: { a: 1 } };
    const shown = { ...body, notify: { webhooks: ['https://hooks.slack.com/…', 'https://alerts.example/…'], afterFailures: 4 } };
    const created = await h.call('POST', '/api/v1/tasks', body);
    assert.deepEqual(created.body, shown);
    const got = await h.call('GET', '/api/v1/tasks/masked');
    assert.deepEqual(got.body, shown);
    assert.deepEqual((await h.call('GET', '/api/v1/tasks?id=masked')).body, [shown]);
    assert.deepEqual((await h.call('POST', '/api/v1/tasks/masked/status/switch')).body, { ...shown, running: true });
    assert.deepEqual((await h.director.store.getTask('masked'))?.doc.notify, body.notify, 'stored whole');

    // GET → edit → PUT: the masked URLs keep the stored ones (also when their order changes).
    const edited = { ...got.body, running: false, config: { a: 2 }, notify: { ...got.body.notify, webhooks: [...got.body.notify.webhooks].reverse() } };
    assert.equal((await h.call('PUT', '/api/v1/tasks/masked', edited)).status, 200);
    const stored = (await h.director.store.getTask('masked'))!;
    assert.deepEqual(stored.doc.notify, { webhooks: [other, slack], afterFailures: 4 });
    assert.deepEqual(stored.settings.notify?.webhooks, [other, slack]);
    assert.deepEqual(stored.doc.config, { a: 2 });
    // Re-POSTing what GET answered changes nothing: it is a repeat.
    const again = await h.call('POST', '/api/v1/tasks', (await h.call('GET', '/api/v1/tasks/masked')).body);
    assert.equal(again.status, 400);
    assert.equal(again.body.message, 'Task already exists');
    // A masked URL that stands for no stored one is refused, naming it.
    const unknown = await h.call('PUT', '/api/v1/tasks/masked', { ...edited, notify: { webhooks: ['https://elsewhere.example/…'] } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.field, 'notify.webhooks[0]');
    // A new URL given whole replaces the stored one.
    assert.equal((await h.call('PUT', '/api/v1/tasks/masked', { ...edited, notify: { webhooks: ['https://new.example/N3w'] } })).status, 200);
    assert.deepEqual((await h.director.store.getTask('masked'))?.doc.notify, { webhooks: ['https://new.example/N3w'] });

    const answers = JSON.stringify([created.body, got.body]);
    for (const secret of ['Sl4ck-S3cret', 'Us3r-S3cret', 'Qu3ry-S3cret']) assert.ok(!answers.includes(secret));
    const logs = JSON.stringify(h.warnings());
    for (const secret of ['Sl4ck-S3cret', 'Us3r-S3cret', 'Qu3ry-S3cret', GLOBAL_SECRET, TEAM_SECRET]) assert.ok(!logs.includes(secret), `logs hold ${secret}`);
  });
});

describe('failure notifications to a receiver that is down', () => {
  it('counts them failed once the retries are spent, logs the masked URL, and Director keeps recording runs', async () => {
    const down = await startWebhookReceiver();
    const url = `${down.url}/hook/D0wn-S3cret`;
    await down.close();
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const h = await startHarness({ clock, config: { notifyWebhooks: [url] } });
    try {
      h.assets.setScript('fails.js', FAILS);
      await h.call('POST', '/api/v1/tasks', { id: 'doomed', script: 'fails.js', running: false });
      assert.equal((await h.call('POST', '/api/v1/tasks/doomed/run')).status, 500);
      // 1 s, 4 s and 16 s between the four attempts, on the fake clock.
      const deadline = Date.now() + 10_000;
      while (!h.warnings().some((l) => /notification not delivered/.test(l.msg))) {
        assert.ok(Date.now() < deadline, 'the notification was given up');
        await clock.advance(500);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const warning = h.warnings().find((l) => /notification not delivered/.test(l.msg))!;
      assert.match(warning.msg, /ECONNREFUSED; notification not delivered after 4 attempts/);
      assert.equal(warning.webhook, `${down.url}/…`);
      assert.ok(!JSON.stringify(h.warnings()).includes('D0wn-S3cret'));
      const metrics = (await h.request({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /director_notifications_total\{event="failed",outcome="failed"\} 1/);
      assert.equal((await h.call('POST', '/api/v1/tasks/doomed/run')).status, 500);
      assert.equal((await h.call('GET', '/api/v1/tasks/doomed/runs')).body.runs.length, 2);
    } finally {
      await h.close();
    }
  });
});
