// Cron slots in real time zones, on the spring-forward and fall-back days of Europe/Madrid and
// America/New_York (2026): a nonexistent local time is skipped, a repeated one runs once (its first).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cron } from 'croner';
import { countSlotsBetween, isSlot, latestSlotsBetween, nextSlot, slotAtOrBefore, upcomingSlots, type SlotSpec } from './schedule.js';
import { wallClock } from './wall-clock.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const cron = (expression: string, timezone = 'UTC', initMs = at('2026-01-01T00:00:00Z'), endMs: number | null = null): SlotSpec => ({
  initMs,
  endMs,
  intervalMs: null,
  cron: { expression, timezone },
});
const next = (spec: SlotSpec, afterIso: string, count: number): string[] => upcomingSlots(spec, at(afterIso), count).map(iso);

// 2026 transitions: Madrid 29 Mar 02:00 CET → 03:00 CEST (01:00Z), 25 Oct 03:00 CEST → 02:00 CET (01:00Z);
// New York 8 Mar 02:00 EST → 03:00 EDT (07:00Z), 1 Nov 02:00 EDT → 01:00 EST (06:00Z).

describe('cron slots without DST', () => {
  it('are the instants of a five-field expression in UTC by default', () => {
    assert.deepEqual(next(cron('0 3 * * *'), '2026-02-01T12:00:00Z', 2), ['2026-02-02T03:00:00Z', '2026-02-03T03:00:00Z']);
  });

  it('take a sixth field of seconds, first', () => {
    assert.deepEqual(next(cron('*/20 * * * * *'), '2026-02-01T12:00:00.500Z', 3), ['2026-02-01T12:00:20Z', '2026-02-01T12:00:40Z', '2026-02-01T12:01:00Z']);
  });

  it('follow the zone: 09:00 in Madrid is 08:00Z in winter and 07:00Z in summer', () => {
    assert.deepEqual(next(cron('0 9 * * *', 'Europe/Madrid'), '2026-03-27T12:00:00Z', 3), ['2026-03-28T08:00:00Z', '2026-03-29T07:00:00Z', '2026-03-30T07:00:00Z']);
  });

  it('are strictly after the given instant, so a slot gives the following one', () => {
    const spec = cron('0 * * * *');
    assert.equal(nextSlot(spec, at('2026-02-01T12:00:00Z')), at('2026-02-01T13:00:00Z'));
    assert.equal(nextSlot(spec, at('2026-02-01T11:59:59.999Z')), at('2026-02-01T12:00:00Z'));
  });

  it('lie inside [init, end): init itself may be one, end never is', () => {
    const spec = cron('0 * * * *', 'UTC', at('2026-02-01T12:00:00Z'), at('2026-02-01T14:00:00Z'));
    assert.deepEqual(next(spec, '2020-01-01T00:00:00Z', 10), ['2026-02-01T12:00:00Z', '2026-02-01T13:00:00Z']);
    assert.equal(slotAtOrBefore(spec, at('2026-02-01T11:00:00Z')), undefined);
    assert.equal(slotAtOrBefore(spec, at('2030-01-01T00:00:00Z')), at('2026-02-01T13:00:00Z'));
    assert.equal(isSlot(spec, at('2026-02-01T14:00:00Z')), false);
  });
});

describe('spring forward: a local time that does not exist is skipped', () => {
  it('Europe/Madrid: 02:30 daily does not run on 29 March, and is not moved to 03:00', () => {
    assert.deepEqual(next(cron('30 2 * * *', 'Europe/Madrid'), '2026-03-28T00:00:00Z', 2), ['2026-03-28T01:30:00Z', '2026-03-30T00:30:00Z']);
  });

  it('Europe/Madrid: every 30 min goes from 01:30 CET straight to 03:00 CEST', () => {
    assert.deepEqual(next(cron('*/30 * * * *', 'Europe/Madrid'), '2026-03-29T00:00:00Z', 3), ['2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z']);
  });

  it('America/New_York: 02:30 daily does not run on 8 March', () => {
    assert.deepEqual(next(cron('30 2 * * *', 'America/New_York'), '2026-03-07T00:00:00Z', 2), ['2026-03-07T07:30:00Z', '2026-03-09T06:30:00Z']);
  });

  it('America/New_York: the 23-hour day has 23 hourly slots', () => {
    const spec = cron('0 * * * *', 'America/New_York');
    assert.equal(countSlotsBetween(spec, at('2026-03-08T05:00:00Z') - 1, at('2026-03-09T04:00:00Z') - 1), 23);
    assert.deepEqual(next(spec, '2026-03-08T05:30:00Z', 2), ['2026-03-08T06:00:00Z', '2026-03-08T07:00:00Z']);
  });
});

describe('fall back: a local time that occurs twice runs once, at its first occurrence', () => {
  it('Europe/Madrid: 02:30 daily runs at 02:30 CEST only on 25 October', () => {
    assert.deepEqual(next(cron('30 2 * * *', 'Europe/Madrid'), '2026-10-24T12:00:00Z', 2), ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
  });

  it('Europe/Madrid: every 30 min runs 02:00 and 02:30 once, then 03:00 CET', () => {
    assert.deepEqual(next(cron('*/30 * * * *', 'Europe/Madrid'), '2026-10-24T23:45:00Z', 3), ['2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z', '2026-10-25T02:00:00Z']);
  });

  it('America/New_York: 01:30 daily runs at 01:30 EDT only on 1 November', () => {
    assert.deepEqual(next(cron('30 1 * * *', 'America/New_York'), '2026-10-31T12:00:00Z', 2), ['2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z']);
  });

  it('America/New_York: the 25-hour day has 24 hourly slots', () => {
    const spec = cron('0 * * * *', 'America/New_York');
    assert.equal(countSlotsBetween(spec, at('2026-11-01T04:00:00Z') - 1, at('2026-11-02T05:00:00Z') - 1), 24);
    assert.deepEqual(next(spec, '2026-11-01T04:30:00Z', 3), ['2026-11-01T05:00:00Z', '2026-11-01T07:00:00Z', '2026-11-01T08:00:00Z']);
  });

  it('seen from inside the second pass, the next slot is the first after the repeated hour', () => {
    const spec = cron('*/15 * * * *', 'America/New_York');
    // 06:30Z is 01:30 EST: 01:30 and 01:45 ran at 05:30Z and 05:45Z (EDT).
    assert.equal(nextSlot(spec, at('2026-11-01T06:30:00Z')), at('2026-11-01T07:00:00Z'));
    assert.equal(slotAtOrBefore(spec, at('2026-11-01T06:30:00Z')), at('2026-11-01T05:45:00Z'));
    assert.equal(isSlot(spec, at('2026-11-01T05:15:00Z')), true);
    assert.equal(isSlot(spec, at('2026-11-01T06:15:00Z')), false);
  });

  it('counts and lists the newest slots across the repeated hour, each once', () => {
    const spec = cron('*/30 * * * *', 'Europe/Madrid');
    assert.equal(countSlotsBetween(spec, at('2026-10-24T23:59:00Z'), at('2026-10-25T02:00:00Z')), 3);
    assert.deepEqual(latestSlotsBetween(spec, at('2026-10-24T23:00:00Z'), at('2026-10-25T02:10:00Z'), 3).map(iso), ['2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z', '2026-10-25T02:00:00Z']);
  });
});

describe('cron slots over a whole year', () => {
  for (const zone of ['Europe/Madrid', 'America/New_York']) {
    // Hours 0–3 hold both transitions of both zones.
    for (const expression of ['*/30 0-3 * * *', '30 2 * * *', '0 1 * * *']) {
      it(`${expression} in ${zone}: strictly increasing, matching, each local time once, nothing in a gap`, () => {
        const spec = cron(expression, zone);
        const slots = upcomingSlots(spec, at('2026-01-01T00:00:00Z') - 1, 5000).filter((ms) => ms < at('2027-01-01T00:00:00Z'));
        const pattern = new Cron(expression, { utcOffset: 0, paused: true });
        const walls = new Set<number>();
        for (let i = 0; i < slots.length; i++) {
          const slot = slots[i]!;
          if (i > 0) assert.ok(slot > slots[i - 1]!, `${iso(slot)} after ${iso(slots[i - 1]!)}`);
          const wall = wallClock(slot, zone);
          assert.ok(pattern.match(new Date(wall)), `${iso(slot)} is ${iso(wall)} local, which ${expression} does not match`);
          assert.ok(!walls.has(wall), `local ${iso(wall)} ran twice`);
          walls.add(wall);
          assert.equal(slotAtOrBefore(spec, slot), slot);
          assert.equal(slotAtOrBefore(spec, slot + 1000), slot);
        }
        // Every matching local time of the year that exists ran: 365 days' worth, minus those in the gap.
        const perDay = expression === '*/30 0-3 * * *' ? 8 : 1;
        const gapped = expression === '0 1 * * *' ? 0 : expression === '30 2 * * *' ? 1 : 2;
        assert.equal(slots.length, 365 * perDay - gapped);
      });
    }
  }
});

describe('croner on its own (why schedule.ts does not use its time zones)', () => {
  it('moves a fixed-time job out of the spring-forward gap, where our rule skips it', () => {
    const native = new Cron('30 2 * * *', { timezone: 'Europe/Madrid', paused: true });
    assert.equal(iso(native.nextRun(new Date(at('2026-03-28T12:00:00Z')))!.getTime()), '2026-03-29T01:00:00Z');
    assert.equal(nextSlot(cron('30 2 * * *', 'Europe/Madrid'), at('2026-03-28T12:00:00Z')), at('2026-03-30T00:30:00Z'));
  });

  it('runs a job with a wildcard on both passes of a repeated hour, where our rule runs the first', () => {
    const native = new Cron('0 * * * *', { timezone: 'America/New_York', paused: true });
    assert.deepEqual(native.nextRuns(3, new Date(at('2026-11-01T04:30:00Z'))).map((d) => iso(d.getTime())), ['2026-11-01T05:00:00Z', '2026-11-01T06:00:00Z', '2026-11-01T07:00:00Z']);
    assert.deepEqual(next(cron('0 * * * *', 'America/New_York'), '2026-11-01T04:30:00Z', 2), ['2026-11-01T05:00:00Z', '2026-11-01T07:00:00Z']);
  });
});
