// The webhook sender against a real HTTP receiver on loopback; backoff waits run on a fake clock.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../lib/logger.js';
import { FakeClock, settle } from '../lib/testing/fake-clock.js';
import { startWebhookReceiver, type WebhookReceiver } from './testing/webhook-receiver.js';
import { createWebhookSender, type Notification, type NotificationOutcome, type WebhookSenderDeps } from './webhook-sender.js';

const SECRET = 'T0SECRET/B0SECRET/xoxo-secret-path';

function harness(overrides: Partial<WebhookSenderDeps> = {}) {
  const clock = new FakeClock();
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (line: string) => { lines.push(JSON.parse(line)); } });
  const outcomes: Array<[string, NotificationOutcome]> = [];
  const sender = createWebhookSender({
    clock, logger, userAgent: 'governify-director/test', onOutcome: (event, outcome) => outcomes.push([event, outcome]), ...overrides,
  });
  /** Resolves once the sender has logged `count` retries (it is then backing off on the fake clock). */
  const retried = (count: number) => until(() => lines.filter((l) => String(l.msg).includes('retrying')).length >= count, `retry ${count}`);
  return { clock, lines, outcomes, sender, retried };
}

function notification(url: string, runId = 1): Notification {
  return { url, event: 'failed', body: JSON.stringify({ event: 'failed', runId }), taskId: 'report', runId };
}

/** Waits (real time) until `check` holds, letting the real HTTP exchanges happen. */
async function until(check: () => boolean, what: string): Promise<void> {
  const limit = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > limit) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('webhook sender', () => {
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
  });
  after(async () => receiver.close());
  beforeEach(() => {
    receiver.calls.length = 0;
    receiver.answer(200);
  });

  it('POSTs the JSON body with its content type and user agent, and counts it delivered', async () => {
    const h = harness();
    h.sender.send(notification(`${receiver.url}/hook/${SECRET}`));
    const [call] = await receiver.received(1);
    assert.equal(call!.path, `/hook/${SECRET}`);
    assert.equal(call!.headers['content-type'], 'application/json');
    assert.equal(call!.headers['user-agent'], 'governify-director/test');
    assert.deepEqual(call!.body, { event: 'failed', runId: 1 });
    await until(() => h.outcomes.length === 1, 'the outcome');
    assert.deepEqual(h.outcomes, [['failed', 'delivered']]);
    assert.equal(h.sender.pending(), 0);
  });

  it('retries 500s with backoff and delivers on the third attempt', async () => {
    receiver.answer(500, 500, 200);
    const h = harness();
    h.sender.send(notification(`${receiver.url}/hook/${SECRET}`));
    await h.retried(1);
    await h.clock.advance(999);
    await settle();
    assert.equal(receiver.calls.length, 1, 'nothing is sent before the first delay has passed');
    await h.clock.advance(1);
    await h.retried(2);
    await h.clock.advance(4000);
    await receiver.received(3);
    await until(() => h.outcomes.length === 1, 'the outcome');
    assert.deepEqual(h.outcomes, [['failed', 'delivered']]);
    const retries = h.lines.filter((l) => String(l.msg).includes('retrying'));
    assert.equal(retries.length, 2);
    assert.match(String(retries[0]!.msg), /answered 500; retrying in 1000 ms/);
    // The URL's secret path is never logged: scheme and host only.
    assert.equal(retries[0]!.webhook, `${receiver.url}/…`);
    assert.ok(!JSON.stringify(h.lines).includes(SECRET));
  });

  it('does not retry a 4xx other than 408 and 429, and logs the failure at warn with the masked URL', async () => {
    receiver.answer(404);
    const h = harness();
    h.sender.send(notification(`${receiver.url}/hook/${SECRET}`));
    await until(() => h.outcomes.length === 1, 'the outcome');
    assert.deepEqual(h.outcomes, [['failed', 'failed']]);
    assert.equal(receiver.calls.length, 1);
    const warn = h.lines.find((l) => l.level === 40);
    assert.match(String(warn?.msg), /answered 404; notification not delivered \(not retried\)/);
    assert.ok(!JSON.stringify(h.lines).includes(SECRET));
  });

  it('retries 429 and gives up after the last delay, counting it failed', async () => {
    receiver.answer(429);
    const h = harness({ retryDelaysMs: [10, 20] });
    h.sender.send(notification(`${receiver.url}/hook`));
    for (let retries = 1; retries <= 2; retries++) {
      await h.retried(retries);
      await h.clock.advance(20);
    }
    await receiver.received(3);
    await until(() => h.outcomes.length === 1, 'the outcome');
    assert.deepEqual(h.outcomes, [['failed', 'failed']]);
    assert.match(String(h.lines.find((l) => l.level === 40)?.msg), /after 3 attempts/);
  });

  it('counts a receiver that is down as failed once its retries are spent, and never throws', async () => {
    const down = await startWebhookReceiver();
    const url = `${down.url}/gone`;
    await down.close();
    const h = harness({ retryDelaysMs: [5] });
    h.sender.send(notification(url));
    await h.retried(1);
    await h.clock.advance(5);
    await until(() => h.outcomes.length === 1, 'the outcome');
    assert.deepEqual(h.outcomes, [['failed', 'failed']]);
    assert.match(String(h.lines.find((l) => l.level === 40)?.problem), /ECONNREFUSED/);
  });

  it('times out an attempt that gets no answer', async () => {
    const h = harness({ retryDelaysMs: [], timeoutMs: 50, post: (_url, _body, _headers, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))) });
    h.sender.send(notification('https://hooks.example/never'));
    await h.clock.advance(50);
    await until(() => h.outcomes.length === 1, 'the outcome');
    assert.deepEqual(h.outcomes, [['failed', 'failed']]);
    assert.match(String(h.lines.find((l) => l.level === 40)?.msg), /no answer within 50 ms/);
  });

  it('keeps at most maxInFlight requests at once and drops beyond maxPending', async () => {
    let inFlight = 0;
    let most = 0;
    const answers: Array<() => void> = [];
    const h = harness({
      maxInFlight: 2,
      maxPending: 3,
      post: () => new Promise((resolve) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        answers.push(() => { inFlight -= 1; resolve(204); });
      }),
    });
    for (let i = 1; i <= 5; i++) h.sender.send(notification('https://hooks.example/x', i));
    assert.equal(h.sender.pending(), 3);
    assert.deepEqual(h.outcomes, [['failed', 'dropped'], ['failed', 'dropped']]);
    assert.match(String(h.lines.find((l) => l.level === 40)?.msg), /dropped: 3 already pending/);
    while (h.outcomes.length < 5) {
      await settle();
      answers.shift()?.();
    }
    assert.equal(most, 2);
    assert.deepEqual(h.outcomes.slice(2), [['failed', 'delivered'], ['failed', 'delivered'], ['failed', 'delivered']]);
  });

  it('gives pending notifications a grace at close, then drops what is left', async () => {
    receiver.answer(503);
    const h = harness();
    h.sender.send(notification(`${receiver.url}/hook`));
    await h.retried(1);
    // The retry is due 1 s after the first answer on the fake clock, which does not move: past this grace.
    await h.sender.close(50);
    assert.deepEqual(h.outcomes, [['failed', 'dropped']]);
    assert.match(String(h.lines.find((l) => /stopping/.test(String(l.msg)))?.msg), /1 notification\(s\) still pending are dropped/);
    h.sender.send(notification(`${receiver.url}/hook`, 2));
    assert.deepEqual(h.outcomes, [['failed', 'dropped'], ['failed', 'dropped']]);
    assert.equal(receiver.calls.length, 1);
  });

  it('closes at once when nothing is pending, and as soon as the last pending one ends', async () => {
    const h = harness();
    await h.sender.close(60_000);
    const g = harness();
    g.sender.send(notification(`${receiver.url}/hook`));
    const started = Date.now();
    await g.sender.close(60_000);
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(g.outcomes, [['failed', 'delivered']]);
  });
});
