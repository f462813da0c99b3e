// The offset clock follows the reference clock, trusts the shortest round trip, and warns about skew once.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../lib/clock.js';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { createOffsetClock } from './offset-clock.js';

/** A logger that keeps what was logged. */
function recordingLogger() {
  const lines: { level: 'warn' | 'info'; msg: string }[] = [];
  const log = (level: 'warn' | 'info') => (_fields: unknown, msg?: string) => { lines.push({ level, msg: msg ?? String(_fields) }); };
  return { lines, logger: { warn: log('warn'), info: log('info') } as never };
}

describe('offset clock', () => {
  it('reads the reference time, corrected by half the shortest round trip', async () => {
    const timers = new FakeClock(0);
    let local = 1_000_000;
    // The reference is 2,500 ms ahead; answers take 40, 10 and 30 ms, and it reads its clock at the
    // midpoint of each, except the slow ones, which read it late (a queue before the answer).
    const trips = [40, 10, 30];
    let trip = 0;
    const base: Clock = { now: () => local, setTimer: (fn, ms) => timers.setTimer(fn, ms) };
    const reference = async () => {
      const ms = trips[trip++ % trips.length] as number;
      const at = local + (ms === 10 ? ms / 2 : ms - 1) + 2500;
      local += ms;
      return at;
    };
    const { logger } = recordingLogger();
    const clock = createOffsetClock({ base, reference, maxSkewMs: 10_000, logger });
    await clock.start();
    assert.equal(clock.offsetMs(), 2500);
    assert.equal(clock.now(), local + 2500);
    clock.stop();
  });

  it('warns at start when the skew is over the bound, names the fix, and says when it is back within', async () => {
    const timers = new FakeClock(0);
    let skew = -1500;
    const base: Clock = { now: () => timers.now(), setTimer: (fn, ms) => timers.setTimer(fn, ms) };
    const { lines, logger } = recordingLogger();
    const clock = createOffsetClock({ base, reference: async () => timers.now() + skew, maxSkewMs: 1000, logger, everyMs: 60_000 });
    await clock.start();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'warn');
    assert.match(lines[0]?.msg ?? '', /1500 ms ahead of the database's .*DIRECTOR_CLOCK_SKEW_MAX_MS=1000.*NTP/);
    await timers.advance(60_000);
    assert.equal(lines.length, 1, 'an unchanged skew is not repeated every minute');
    skew = 20;
    await timers.advance(60_000);
    assert.equal(clock.offsetMs(), 20);
    assert.deepEqual(lines.map((l) => l.level), ['warn', 'info']);
    clock.stop();
  });

  it('takes an offset within the error of the measurement for none', async () => {
    const timers = new FakeClock(0);
    let local = 5_000;
    const base: Clock = { now: () => local, setTimer: (fn, ms) => timers.setTimer(fn, ms) };
    // 1.6 ms apart, measured over a 2 ms round trip: no better than ±2 ms, so no offset is applied.
    const reference = async () => {
      const at = local + 1 + 1.6;
      local += 2;
      return at;
    };
    const clock = createOffsetClock({ base, reference, maxSkewMs: 1000, logger: recordingLogger().logger });
    await clock.start();
    assert.equal(clock.offsetMs(), 0);
    clock.stop();
  });

  it('keeps the last offset when the reference cannot be read, and warns once', async () => {
    const timers = new FakeClock(0);
    let fail = false;
    const base: Clock = { now: () => timers.now(), setTimer: (fn, ms) => timers.setTimer(fn, ms) };
    const { lines, logger } = recordingLogger();
    const clock = createOffsetClock({
      base, logger, maxSkewMs: 1000, everyMs: 1000,
      reference: async () => {
        if (fail) throw new Error('connection terminated');
        return timers.now() + 300;
      },
    });
    await clock.start();
    fail = true;
    await timers.advance(5000);
    assert.equal(clock.offsetMs(), 300);
    assert.equal(lines.filter((l) => /measuring the database clock failed/.test(l.msg)).length, 1);
    clock.stop();
    assert.equal(timers.pending, 0);
  });
});
