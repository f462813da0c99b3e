// Per-client rate limit: 429 with Retry-After past the budget, per address, probes exempt, a new
// minute starts afresh, and 0 turns it off.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { startHarness, type Harness } from '../../test/support/director-harness.js';
import { createRateLimiter } from './rate-limit.js';

describe('rate limit', () => {
  let h: Harness;
  const clock = new FakeClock(Date.UTC(2030, 0, 1, 0, 0, 0));
  before(async () => {
    h = await startHarness({ config: { rateLimitPerMinute: 5 }, clock });
  });
  after(async () => h.close());

  const get = (url: string, remoteAddress = '10.0.0.1') => h.request({ method: 'GET', url, remoteAddress });

  it('answers 429 JSON with Retry-After once a client passes its budget, until the next minute', async () => {
    await clock.advance(15_000);
    for (let k = 0; k < 5; k++) assert.equal((await get('/api/v1/tasks')).statusCode, 200);
    const limited = await get('/api/v1/tasks');
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['retry-after'], '45');
    const body = JSON.parse(limited.body) as { code: number; error: string; message: string };
    assert.deepEqual([body.code, body.error], [429, 'RATE_LIMITED']);
    assert.match(body.message, /DIRECTOR_RATE_LIMIT/);

    assert.equal((await get('/api/v1/tasks', '10.0.0.2')).statusCode, 200, 'another address has its own budget');
    assert.equal((await get('/health')).statusCode, 200, '/health is exempt');
    assert.equal((await get('/ready')).statusCode, 200, '/ready is exempt');

    await clock.advance(45_000);
    assert.equal((await get('/api/v1/tasks')).statusCode, 200, 'a new minute, a new budget');
  });

  it('limits unknown paths and writes too', async () => {
    await clock.advance(60_000);
    for (let k = 0; k < 5; k++) await get('/nothing', '10.0.0.3');
    assert.equal((await h.request({ method: 'POST', url: '/api/v1/tasks', remoteAddress: '10.0.0.3', payload: {} })).statusCode, 429);
  });
});

describe('rate limit behind a reverse proxy (DIRECTOR_TRUST_PROXY)', () => {
  let h: Harness;
  before(async () => {
    // A fixed clock: no minute boundary can fall between the requests of one budget.
    h = await startHarness({ config: { rateLimitPerMinute: 2, trustProxy: ['10.1.0.0/16'] }, clock: new FakeClock(Date.UTC(2030, 0, 1, 0, 0, 10)) });
  });
  after(async () => h.close());

  const via = (remoteAddress: string, forwardedFor: string) =>
    h.request({ method: 'GET', url: '/api/v1/tasks', remoteAddress, headers: { 'x-forwarded-for': forwardedFor } });

  it('counts each client named by a listed proxy on its own', async () => {
    for (const client of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      assert.equal((await via('10.1.0.5', client)).statusCode, 200);
      assert.equal((await via('10.1.0.6', client)).statusCode, 200, 'two proxies, one client: one budget');
      assert.equal((await via('10.1.0.5', client)).statusCode, 429);
    }
  });

  it('ignores X-Forwarded-For from anyone else: a client cannot choose its address', async () => {
    assert.equal((await via('198.51.100.7', 'spoof-1')).statusCode, 200);
    assert.equal((await via('198.51.100.7', 'spoof-2')).statusCode, 200);
    assert.equal((await via('198.51.100.7', 'spoof-3')).statusCode, 429);
  });
});

describe('rate limiter', () => {
  it('is off-by-nothing: exactly the budget passes', () => {
    let now = 120_000;
    const limiter = createRateLimiter(2, () => now);
    assert.deepEqual([limiter.hit('a'), limiter.hit('a'), limiter.hit('a') > 0], [0, 0, true]);
    now += 60_000;
    assert.equal(limiter.hit('a'), 0);
  });

  it('is not installed when the limit is 0', async () => {
    const h = await startHarness({ config: { rateLimitPerMinute: 0 } });
    try {
      for (let k = 0; k < 50; k++) assert.equal((await h.request({ method: 'GET', url: '/health/x' })).statusCode, 404);
    } finally {
      await h.close();
    }
  });
});
