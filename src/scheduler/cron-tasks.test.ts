// Cron tasks through the real scheduler on a fake clock: the DST days of Europe/Madrid and
// America/New_York, and overlap, retries, catch-up, end and re-planning working per slot as for intervals.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { createHarness, HOUR, MINUTE, SECOND, type Harness } from './testing/scheduler-harness.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string => new Date(ms ?? Number.NaN).toISOString().replace('.000Z', 'Z');

let h: Harness;

async function harnessAt(startIso: string, config: Record<string, number> = {}): Promise<Harness> {
  h = await createHarness({ clock: new FakeClock(at(startIso)), config });
  await h.scheduler.start();
  return h;
}

const dispatched = (id: string): string[] => h.runner.dispatched(id).map((c) => iso(c.slot));

afterEach(async () => {
  await h.close();
});

describe('cron tasks on DST days', () => {
  it('Europe/Madrid, spring forward: 02:00 and 02:30 do not exist and do not run', async () => {
    await harnessAt('2026-03-28T23:50:00Z');
    await h.put({ id: 'm', running: true, cron: '*/30 * * * *', timezone: 'Europe/Madrid' });
    await h.advance(2 * HOUR);
    // 00:00Z = 01:00 CET, 00:30Z = 01:30 CET, then 01:00Z = 03:00 CEST.
    assert.deepEqual(dispatched('m'), ['2026-03-29T00:00:00Z', '2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z']);
    assert.equal((await h.runsOf('m')).length, 4, 'no skipped row either: a nonexistent time is no slot');
  });

  it('Europe/Madrid, fall back: 02:30 daily runs once, at 02:30 CEST', async () => {
    await harnessAt('2026-10-24T12:00:00Z');
    await h.put({ id: 'm', running: true, cron: '30 2 * * *', timezone: 'Europe/Madrid' });
    await h.advance(40 * HOUR);
    assert.deepEqual(dispatched('m'), ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
  });

  it('America/New_York, spring forward: 02:30 daily is skipped on 8 March', async () => {
    await harnessAt('2026-03-07T00:00:00Z');
    await h.put({ id: 'n', running: true, cron: '30 2 * * *', timezone: 'America/New_York' });
    await h.advance(3 * 24 * HOUR);
    assert.deepEqual(dispatched('n'), ['2026-03-07T07:30:00Z', '2026-03-09T06:30:00Z']);
  });

  it('America/New_York, fall back: every 30 min runs 01:00 and 01:30 once, then 02:00 EST', async () => {
    await harnessAt('2026-11-01T04:50:00Z');
    await h.put({ id: 'n', running: true, cron: '*/30 * * * *', timezone: 'America/New_York' });
    await h.advance(3 * HOUR);
    assert.deepEqual(dispatched('n'), ['2026-11-01T05:00:00Z', '2026-11-01T05:30:00Z', '2026-11-01T07:00:00Z', '2026-11-01T07:30:00Z']);
    assert.equal(h.scheduler.stats('n')?.missedSlots, 0, 'the second pass is no missed slot');
  });
});

describe('cron tasks keep the per-slot policies', () => {
  it('records a slot as skipped while the previous run still goes (overlap skip)', async () => {
    await harnessAt('2026-02-01T00:00:00Z');
    h.runner.behaviour = () => 'hold';
    await h.put({ id: 'c', running: true, cron: '*/20 * * * * *' });
    await h.advance(MINUTE);
    assert.deepEqual(dispatched('c'), ['2026-02-01T00:00:20Z']);
    const skipped = (await h.runsOf('c')).filter((r) => r.status === 'skipped').map((r) => iso(r.slot));
    assert.deepEqual(skipped, ['2026-02-01T00:00:40Z', '2026-02-01T00:01:00Z']);
  });

  it('retries a failed slot with backoff, each attempt under the same slot', async () => {
    await harnessAt('2026-02-01T00:00:00Z');
    h.runner.behaviour = () => 'failed';
    await h.put({ id: 'c', running: true, cron: '0 * * * *', retries: { max: 2, backoffMs: 1000 } });
    await h.advance(HOUR + 10 * SECOND);
    assert.deepEqual(h.runner.dispatched('c').map((c) => [iso(c.slot), c.attempt]), [
      ['2026-02-01T01:00:00Z', 1], ['2026-02-01T01:00:00Z', 2], ['2026-02-01T01:00:00Z', 3],
    ]);
  });

  it('catches up the newest missed slots across a repeated hour after downtime (all)', async () => {
    await harnessAt('2026-10-24T23:55:00Z', { catchUpMax: 2 });
    await h.put({ id: 'c', running: true, cron: '*/30 * * * *', timezone: 'Europe/Madrid', catchUp: 'all' });
    await h.advance(10 * MINUTE);
    assert.deepEqual(dispatched('c'), ['2026-10-25T00:00:00Z']);
    await h.scheduler.stop();
    // Down from 00:05Z to 03:10Z: 02:30 CEST, 03:00 CET, 03:30, 04:00 were due; the second 02:00 and 02:30 never are.
    h.clock.set(at('2026-10-25T03:10:00Z'));
    await h.scheduler.start();
    await h.advance(0);
    assert.deepEqual(dispatched('c'), ['2026-10-25T00:00:00Z', '2026-10-25T02:30:00Z', '2026-10-25T03:00:00Z']);
    assert.equal(h.scheduler.stats('c')?.missedSlots, 2);
    const skipped = (await h.runsOf('c')).filter((r) => r.status === 'skipped').map((r) => iso(r.slot));
    assert.deepEqual(skipped, ['2026-10-25T02:00:00Z'], 'the newest missed slot is recorded');
  });

  it('deletes the task at its end, and runs no slot at or after it', async () => {
    await harnessAt('2026-02-01T00:00:00Z');
    await h.put({ id: 'c', running: true, cron: '0 * * * *', end: '2026-02-01T03:00:00Z' });
    await h.advance(4 * HOUR);
    assert.deepEqual(dispatched('c'), ['2026-02-01T01:00:00Z', '2026-02-01T02:00:00Z']);
    assert.equal(await h.store.getTask('c'), undefined);
  });

  it('re-plans at once when an interval task becomes a cron task, and back', async () => {
    await harnessAt('2026-02-01T00:00:00Z');
    await h.put({ id: 'c', running: true, interval: 7 * MINUTE });
    await h.advance(10 * MINUTE);
    await h.put({ id: 'c', running: true, cron: '0 * * * *' });
    assert.equal(h.scheduler.nextExecution('c'), at('2026-02-01T01:00:00Z'));
    await h.advance(HOUR);
    await h.put({ id: 'c', running: true, interval: 7 * MINUTE, init: '2026-02-01T01:00:00Z' });
    assert.equal(h.scheduler.nextExecution('c'), at('2026-02-01T01:14:00Z'));
    assert.deepEqual(dispatched('c'), ['2026-02-01T00:07:00Z', '2026-02-01T01:00:00Z']);
  });
});
