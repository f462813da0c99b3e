// The backfill driver on a fake clock and a real SQLite store: order, concurrency, re-runs of lost
// runs, cancelling, a deleted task, and two replicas sharing one backfill without doubling a slot.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backfillRange, type BackfillRecord } from '../domain/backfill.js';
import type { RunRecord } from '../domain/run.js';
import { parseTask, type Task } from '../domain/task.js';
import { DirectorEvents } from '../lib/events.js';
import { createLogger } from '../lib/logger.js';
import { FakeClock, settle } from '../lib/testing/fake-clock.js';
import { createHeldRuns } from '../runs/held-runs.js';
import { RecordingRunner } from '../scheduler/testing/recording-runner.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { createBackfillDriver, type BackfillDriver } from './backfill-driver.js';
import { createBackfillRequests } from './backfill-requests.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2030, 0, 1);
const POLL_MS = 1000;

/** Waits for the store's writes and the driver's chains; time stands still. Fails after 5 s of real time. */
async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await settle();
  }
}

interface Replica {
  readonly driver: BackfillDriver;
  readonly runner: RecordingRunner;
  readonly events: DirectorEvents;
}

describe('backfill driver', () => {
  let dir: string;
  let store: Store;
  let clock: FakeClock;
  let replicas: Replica[];
  let seq = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'director-backfill-'));
    store = await openSqliteStore({ file: path.join(dir, 'director.sqlite'), synchronous: 'NORMAL' });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    for (const r of replicas ?? []) await r.driver.stop();
    replicas = [];
    clock = new FakeClock(T0 + 24 * 60 * MINUTE);
  });

  function replica(name: string): Replica {
    const events = new DirectorEvents();
    const runner = new RecordingRunner({ store, clock, events });
    const held = createHeldRuns(name);
    held.follow(events);
    const driver = createBackfillDriver({
      store, runner, held, events, clock, pollMs: POLL_MS,
      logger: createLogger('silent'), config: { instanceId: name, leaseMs: 30_000 },
    });
    const r = { driver, runner, events };
    replicas.push(r);
    return r;
  }

  async function task(overrides: Record<string, unknown> = {}): Promise<Task> {
    const t = parseTask({ id: `bf-${++seq}`, script: 'http://assets.test/x.js', running: true, init: T0, interval: MINUTE, ...overrides }, { fallbackId: 'unused', createdMs: clock.now(), nowMs: clock.now() });
    await store.putTask(t);
    return t;
  }

  function requests(onChange = () => replicas.forEach((r) => r.driver.kick())) {
    return createBackfillRequests({ store, clock, config: { backfillMaxSlots: 10_000 }, onChange });
  }

  const backfill = (id: number) => store.getBackfill(id) as Promise<BackfillRecord>;
  const slotsOf = (runs: readonly { run: RunRecord }[]) => runs.map((c) => c.run.slot);

  it('runs each slot of the range once, in order, one at a time by default', async () => {
    const t = await task();
    const r = replica('a');
    r.driver.start();
    const created = await requests().request(t.id, { from: T0 + 10 * MINUTE, to: T0 + 15 * MINUTE }, 'tester');
    await until('it completed', async () => (await backfill(created.id)).status === 'completed');
    assert.deepEqual(slotsOf(r.runner.calls), [10, 11, 12, 13, 14].map((k) => T0 + k * MINUTE));
    assert.ok(r.runner.calls.every((c) => c.run.trigger === 'backfill' && c.run.backfillId === created.id && c.run.attempt === 1));
    const done = await backfill(created.id);
    assert.equal(done.counts?.succeeded, 5);
    assert.equal(done.counts?.pending, 0);
    assert.equal(done.finishedMs, clock.now());
  });

  it('keeps at most `concurrency` runs going and starts the next slot as one ends', async () => {
    const t = await task();
    const r = replica('a');
    r.runner.behaviour = () => 'hold';
    r.driver.start();
    const created = await requests().request(t.id, { from: T0, to: T0 + 10 * MINUTE, concurrency: 3 }, 'tester');
    await until('three started', () => r.runner.heldRuns().length === 3);
    await clock.advance(5 * POLL_MS);
    assert.equal(r.runner.calls.length, 3, 'polling adds none while three run');
    await r.runner.finish(r.runner.heldRuns()[1]!.id);
    await until('a fourth started', () => r.runner.calls.length === 4);
    assert.equal(r.runner.heldRuns().length, 3);
    while (r.runner.heldRuns().length > 0) {
      await r.runner.finish(r.runner.heldRuns()[0]!.id, 'failed');
      await settle();
      await until('the next is up', async () => r.runner.heldRuns().length > 0 || (await backfill(created.id)).status === 'completed');
    }
    assert.deepEqual(slotsOf(r.runner.calls), Array.from({ length: 10 }, (_, k) => T0 + k * MINUTE), 'claimed in slot order');
    const done = await backfill(created.id);
    assert.equal(done.status, 'completed');
    assert.equal(done.counts?.succeeded, 1);
    assert.equal(done.counts?.failed, 9, 'a failing script is an outcome: recorded, not run again');
  });

  it('runs a slot again when its run was lost, and counts the slot once', async () => {
    const t = await task();
    const r = replica('a');
    r.runner.behaviour = () => 'hold';
    r.driver.start();
    const created = await requests().request(t.id, { from: T0, to: T0 + 2 * MINUTE }, 'tester');
    await until('the first started', () => r.runner.heldRuns().length === 1);
    const first = r.runner.heldRuns()[0]!;
    // What the lease keeper does when the run's replica died: the row becomes lost and is announced.
    const lost = await store.abandonRun(first.id, 'lost', { stage: 'executor', name: 'SessionEnded', message: 'replica died' }, clock.now());
    r.events.emit('run:finished', lost!);
    await until('attempt 2 started', () => r.runner.calls.length === 2);
    const second = r.runner.calls[1]!.run;
    assert.deepEqual([second.slot, second.attempt], [T0, 2]);
    r.runner.behaviour = () => 'succeeded';
    await r.runner.finish(second.id);
    await until('it completed', async () => (await backfill(created.id)).status === 'completed');
    const done = await backfill(created.id);
    assert.equal(done.counts?.succeeded, 2);
    assert.equal(done.counts?.lost, 0, 'the lost attempt was superseded');
  });

  it('cancel: runs in flight finish, no further slot starts, then it is cancelled', async () => {
    const t = await task();
    const r = replica('a');
    r.runner.behaviour = () => 'hold';
    r.driver.start();
    const api = requests();
    const created = await api.request(t.id, { from: T0, to: T0 + 20 * MINUTE, concurrency: 2 }, 'tester');
    await until('two started', () => r.runner.heldRuns().length === 2);
    const cancelling = await api.cancel(created.id, 'operator-ann');
    assert.equal(cancelling.status, 'cancelling');
    assert.equal(cancelling.reason, 'cancelled by operator-ann');
    for (const run of r.runner.heldRuns()) await r.runner.finish(run.id);
    await until('it is cancelled', async () => (await backfill(created.id)).status === 'cancelled');
    await clock.advance(5 * POLL_MS);
    assert.equal(r.runner.calls.length, 2);
    const done = await backfill(created.id);
    assert.deepEqual([done.counts?.succeeded, done.counts?.pending], [2, 18]);
    await assert.rejects(api.cancel(created.id, 'x'), /already been cancelled/);
  });

  it('cancels a backfill whose task was deleted', async () => {
    const t = await task();
    const r = replica('a');
    r.runner.behaviour = () => 'hold';
    r.driver.start();
    const created = await requests().request(t.id, { from: T0, to: T0 + 5 * MINUTE }, 'tester');
    await until('one started', () => r.runner.heldRuns().length === 1);
    await store.deleteTask(t.id);
    await r.runner.finish(r.runner.heldRuns()[0]!.id);
    await until('it is cancelled', async () => (await backfill(created.id)).status === 'cancelled');
    assert.match((await backfill(created.id)).reason ?? '', /was deleted/);
    assert.equal(r.runner.calls.length, 1);
  });

  it('two replicas: the one that stops claiming leaves the rest to the other, and every slot runs exactly once', async () => {
    const t = await task();
    const a = replica('a');
    const b = replica('b');
    a.runner.behaviour = () => 'hold';
    a.driver.start();
    b.driver.start();
    // Both are told of it at once and read the same version: a claims, b's claim finds the version moved.
    const created = await requests().request(t.id, { from: T0, to: T0 + 60 * MINUTE, concurrency: 4 }, 'tester');
    await until('a holds four', () => a.runner.heldRuns().length === 4);
    await clock.advance(POLL_MS);
    assert.equal(b.runner.calls.length, 0, 'b claims nothing while four run');
    await a.driver.stop();
    for (const run of a.runner.heldRuns()) await a.runner.finish(run.id);
    for (let i = 0; i < 200 && (await backfill(created.id)).status !== 'completed'; i++) await clock.advance(POLL_MS);
    assert.equal((await backfill(created.id)).status, 'completed');
    const all = [...a.runner.calls, ...b.runner.calls].map((c) => c.run.slot);
    assert.equal(all.length, 60);
    assert.equal(new Set(all).size, 60, 'no slot ran twice');
    assert.deepEqual([a.runner.calls.length, b.runner.calls.length], [4, 56]);
  });

  it('backfills a cron task\'s instants in its zone, and a slot that already ran gets a second run beside it', async () => {
    const t = await task({ interval: undefined, cron: '30 2 * * *', timezone: 'Europe/Madrid', init: Date.UTC(2026, 2, 1) });
    const [scheduled] = await store.claimSlots([{ taskId: t.id, slot: Date.UTC(2026, 2, 28, 1, 30), owner: 'a', nowMs: clock.now(), leaseMs: 30_000 }]);
    assert.ok(scheduled);
    const r = replica('a');
    r.driver.start();
    const from = Date.UTC(2026, 2, 28);
    const to = Date.UTC(2026, 2, 31);
    assert.deepEqual(backfillRange(t, from, to, 100), { ok: true, slots: 2, firstSlot: Date.UTC(2026, 2, 28, 1, 30) });
    const created = await requests().request(t.id, { from, to }, 'tester');
    await until('it completed', async () => (await backfill(created.id)).status === 'completed');
    // 29 March has no 02:30 in Madrid (spring forward): skipped, as the live schedule skips it.
    assert.deepEqual(slotsOf(r.runner.calls), [Date.UTC(2026, 2, 28, 1, 30), Date.UTC(2026, 2, 30, 0, 30)]);
    assert.equal(created.slots, 2);
    assert.equal((await store.getRun(scheduled.id))?.status, 'running', 'the scheduled run is untouched');
  });
});
