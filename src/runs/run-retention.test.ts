// Run retention on the real SQLite store, driven by a fake clock: when it trims, what it keeps, and
// how it backs off when the store fails.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { createLogger } from '../lib/logger.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { finishedRun } from '../store/store-fixtures.contract.js';
import { RETENTION_FIRST_DELAY_MS, RETENTION_INTERVAL_MS, startRunRetention } from './run-retention.js';

const DAY = 24 * 3600 * 1000;

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { logger: createLogger('info', sink), lines };
}

describe('run retention', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'director-retention-'));
    store = await openSqliteStore({ file: path.join(dir, 'director.sqlite'), synchronous: 'NORMAL' });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trims shortly after start, then every interval, keeping the newest N runs per task', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    for (let k = 0; k < 5; k++) await finishedRun(store, 'keep-a', 'succeeded', t0 + k);
    for (let k = 0; k < 2; k++) await finishedRun(store, 'keep-b', 'failed', t0 + k);
    const { logger, lines } = captureLogger();
    const retention = startRunRetention({ store, clock, logger, config: { runsKeep: 3, runsMaxAgeMs: 0 } });

    await clock.advance(RETENTION_FIRST_DELAY_MS - 1);
    assert.equal((await store.listRuns('keep-a')).length, 5, 'nothing trimmed before the first delay');
    await clock.advance(1);
    assert.equal((await store.listRuns('keep-a')).length, 3);
    assert.equal((await store.listRuns('keep-b')).length, 2);
    const logged = lines.find((l) => l.msg === 'run history trimmed');
    assert.equal(logged?.removed, 2);

    for (let k = 0; k < 4; k++) await finishedRun(store, 'keep-a', 'succeeded', clock.now() + k);
    await clock.advance(RETENTION_INTERVAL_MS);
    assert.equal((await store.listRuns('keep-a')).length, 3, 'trimmed again one interval later');
    await retention.stop();
  });

  it('drops runs older than the maximum age, measured on the clock', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const old = await finishedRun(store, 'age-a', 'succeeded', t0 - 31 * DAY);
    const recent = await finishedRun(store, 'age-a', 'succeeded', t0 - 29 * DAY);
    const { logger } = captureLogger();
    const retention = startRunRetention({ store, clock, logger, config: { runsKeep: 0, runsMaxAgeMs: 30 * DAY } });
    assert.equal(await retention.trimNow(), 1);
    assert.equal(await store.getRun(old), undefined);
    assert.ok(await store.getRun(recent));
    await retention.stop();
  });

  it('does nothing and arms no timer when both limits are 0', async () => {
    const clock = new FakeClock();
    const { logger, lines } = captureLogger();
    const retention = startRunRetention({ store, clock, logger, config: { runsKeep: 0, runsMaxAgeMs: 0 } });
    assert.equal(clock.pending, 0);
    assert.ok(lines.some((l) => String(l.msg).includes('retention is off')));
    await retention.stop();
  });

  it('backs off with a capped doubling delay while the store fails, and recovers', async () => {
    const clock = new FakeClock();
    let failing = true;
    const calls: number[] = [];
    const flaky = {
      async trimRuns() {
        calls.push(clock.now());
        if (failing) throw new Error('database is locked');
        return 0;
      },
    };
    const { logger, lines } = captureLogger();
    const intervalMs = 60_000;
    const retention = startRunRetention({
      store: flaky, clock, logger, config: { runsKeep: 10, runsMaxAgeMs: 0 }, firstDelayMs: 0, intervalMs,
    });
    await clock.advance(0);
    for (let k = 0; k < 6; k++) await clock.advance(intervalMs);
    const gaps = calls.slice(1).map((at, i) => at - calls[i]!);
    assert.deepEqual(gaps.slice(0, 5), [5_000, 10_000, 20_000, 40_000, 60_000], 'doubling, capped at the interval');
    const warning = lines.find((l) => l.level === 40);
    assert.match(String(warning?.msg), /retrying in 5000 ms/);

    failing = false;
    await clock.advance(intervalMs);
    const before = calls.length;
    await clock.advance(intervalMs);
    assert.equal(calls.length, before + 1, 'back to one trim per interval');
    await retention.stop();
    assert.equal(clock.pending, 0, 'stop cancels the timer');
  });

  it('stop waits for a trim in flight, so the store can close after it', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    let finished = false;
    const slow = {
      trimRuns: () => new Promise<number>((resolve) => { release = () => { finished = true; resolve(0); }; }),
    };
    const { logger } = captureLogger();
    const retention = startRunRetention({ store: slow, clock, logger, config: { runsKeep: 1, runsMaxAgeMs: 0 }, firstDelayMs: 0 });
    await clock.advance(0);
    const stopping = retention.stop();
    setImmediate(() => release());
    await stopping;
    assert.equal(finished, true);
    assert.equal(clock.pending, 0, 'no timer re-armed after stop');
  });
});
