// Store contract, backfills: create (one decision on overlaps), list, claims as a compare-and-set on the
// version, progress read in one snapshot, and the ways a backfill ends.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackfillRecord } from '../domain/backfill.js';
import type { RunError } from '../domain/run.js';
import type { SlotSpec } from '../domain/schedule.js';
import type { BackfillClaim, NewBackfill, Store } from './store.js';
import { claimOne, failed, LEASE_MS, MINUTE, succeeded, T0, uniqueId, type ContractContext } from './store-fixtures.contract.js';

/** A minute interval task's slots from T0: the backfill of [from, to) has (to − from) / MINUTE of them. */
const EVERY_MINUTE: SlotSpec = { initMs: T0, endMs: null, intervalMs: MINUTE, cron: null };
/** Backfills are requested a day after T0: their slots lie in the past. */
export const REQUESTED = T0 + 24 * 60 * MINUTE;
const SHUTDOWN: RunError = { stage: 'shutdown', name: 'Shutdown', message: 'killed at shutdown after the grace period' };

export function newBackfill(taskId: string, fromMs: number, toMs: number, extra: Partial<NewBackfill> = {}): NewBackfill {
  const slots = Math.ceil((toMs - fromMs) / MINUTE);
  return { taskId, fromMs, toMs, schedule: EVERY_MINUTE, slots, firstSlot: fromMs, concurrency: 2, requestedBy: 'ops', nowMs: REQUESTED, ...extra };
}

export async function createdBackfill(store: Store, backfill: NewBackfill): Promise<BackfillRecord> {
  const result = await store.createBackfill(backfill);
  assert.ok('created' in result, `the backfill was refused: it overlaps backfill ${'overlaps' in result ? result.overlaps.id : '?'}`);
  return result.created;
}

/** The claim of `slots` (attempt 1, or as given) at the backfill's current version, moving its next slot to `next`. */
export function claimOf(backfill: BackfillRecord, runs: readonly (number | { slot: number; attempt: number })[], next: number | null, owner = 'owner-a'): BackfillClaim {
  return {
    backfillId: backfill.id,
    taskId: backfill.taskId,
    version: backfill.version,
    nextSlot: next,
    runs: runs.map((r) => (typeof r === 'number' ? { slot: r, attempt: 1 } : r)),
    owner,
    nowMs: REQUESTED + 10,
    leaseMs: LEASE_MS,
  };
}

async function current(store: Store, id: number): Promise<BackfillRecord> {
  const backfill = await store.getBackfill(id);
  assert.ok(backfill);
  return backfill;
}

/** Claims at the backfill's current version and fails the test when the claim was refused; returns the run ids in slot order. */
export async function claimBackfill(store: Store, backfill: BackfillRecord, runs: readonly (number | { slot: number; attempt: number })[], next: number | null): Promise<number[]> {
  const now = await current(store, backfill.id);
  const won = await store.claimBackfillRuns(claimOf(now, runs, next));
  assert.ok(won, `the claim of backfill ${backfill.id} at version ${now.version} was refused`);
  return [...won].sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || a.attempt - b.attempt).map((r) => r.id);
}

const zero = { pending: 0, running: 0, succeeded: 0, failed: 0, timed_out: 0, skipped: 0, lost: 0 };

export function describeBackfillCases(ctx: ContractContext): void {
  describe('backfills', () => {
    it('createBackfill records a running backfill with its schedule snapshot, at version 0', async () => {
      const store = ctx.store();
      const taskId = uniqueId('bf-create');
      const cron = { initMs: T0, endMs: T0 + 60 * MINUTE, intervalMs: null, cron: { expression: '*/5 * * * *', timezone: 'Europe/Madrid' } };
      const created = await createdBackfill(store, newBackfill(taskId, T0, T0 + 30 * MINUTE, { schedule: cron, slots: 6, concurrency: 3 }));
      assert.deepEqual({ ...created, id: 0 }, {
        id: 0, taskId, fromMs: T0, toMs: T0 + 30 * MINUTE, schedule: cron, slots: 6, concurrency: 3, status: 'running', nextSlot: T0, version: 0,
        requestedBy: 'ops', reason: null, createdMs: REQUESTED, finishedMs: null, counts: null,
      });
      assert.deepEqual(await store.getBackfill(created.id), created);
      const interval = await createdBackfill(store, newBackfill(uniqueId('bf-create'), T0, T0 + 2 * MINUTE));
      assert.deepEqual(interval.schedule, EVERY_MINUTE);
      assert.equal(await store.getBackfill(2 ** 40), undefined);
    });

    it('refuses a backfill whose range meets an active one of its task; adjacent ranges, other tasks and ended backfills pass', async () => {
      const store = ctx.store();
      const taskId = uniqueId('bf-overlap');
      const first = await createdBackfill(store, newBackfill(taskId, T0 + 10 * MINUTE, T0 + 20 * MINUTE));
      for (const [from, to] of [[15, 25], [5, 11], [0, 30], [12, 13], [10, 20]] as const) {
        const result = await store.createBackfill(newBackfill(taskId, T0 + from * MINUTE, T0 + to * MINUTE));
        assert.ok('overlaps' in result, `[${from}, ${to}) meets [10, 20)`);
        assert.deepEqual(result.overlaps, first);
      }
      const after = await createdBackfill(store, newBackfill(taskId, T0 + 20 * MINUTE, T0 + 30 * MINUTE));
      await createdBackfill(store, newBackfill(taskId, T0, T0 + 10 * MINUTE));
      await createdBackfill(store, newBackfill(uniqueId('bf-overlap-other'), T0 + 10 * MINUTE, T0 + 20 * MINUTE));

      // Cancelling still blocks (its runs are going); cancelled does not.
      await claimBackfill(store, after, [T0 + 20 * MINUTE], T0 + 21 * MINUTE);
      assert.equal((await store.endBackfill(after.id, { status: 'cancelled', reason: 'by ops', nowMs: REQUESTED }))?.status, 'cancelling');
      assert.ok('overlaps' in (await store.createBackfill(newBackfill(taskId, T0 + 25 * MINUTE, T0 + 26 * MINUTE))));
      assert.equal((await store.endBackfill(first.id, { status: 'cancelled', reason: 'by ops', nowMs: REQUESTED }))?.status, 'cancelled');
      await createdBackfill(store, newBackfill(taskId, T0 + 10 * MINUTE, T0 + 20 * MINUTE));
    });

    it('concurrent creates of overlapping ranges of one task: exactly one is created', async () => {
      const store = ctx.store();
      // Connections opened beforehand (PostgreSQL's pool), so that the creates below really overlap.
      await Promise.all(Array.from({ length: 8 }, () => store.listBackfills({ limit: 1 })));
      for (let round = 0; round < 5; round++) {
        const taskId = uniqueId('bf-race');
        const results = await Promise.all(Array.from({ length: 8 }, (_, k) => store.createBackfill(newBackfill(taskId, T0 + k * MINUTE, T0 + (k + 10) * MINUTE))));
        const created = results.flatMap((r) => ('created' in r ? [r.created] : []));
        assert.equal(created.length, 1);
        for (const r of results) if ('overlaps' in r) assert.equal(r.overlaps.id, created[0]?.id);
        assert.deepEqual((await store.listBackfills({ taskId })).map((b) => b.id), [created[0]?.id]);
      }
    });

    it('listBackfills is newest first, filtered by task and status, paginated; activeBackfills lists the running and cancelling, oldest first', async () => {
      const store = ctx.store();
      const taskId = uniqueId('bf-list');
      const a = await createdBackfill(store, newBackfill(taskId, T0, T0 + MINUTE));
      const b = await createdBackfill(store, newBackfill(taskId, T0 + MINUTE, T0 + 2 * MINUTE));
      const c = await createdBackfill(store, newBackfill(taskId, T0 + 2 * MINUTE, T0 + 3 * MINUTE));
      const other = await createdBackfill(store, newBackfill(uniqueId('bf-list-other'), T0, T0 + MINUTE));
      await claimBackfill(store, b, [T0 + MINUTE], null);
      await store.endBackfill(a.id, { status: 'cancelled', reason: 'by ops', nowMs: REQUESTED });
      await store.endBackfill(b.id, { status: 'cancelled', reason: 'by ops', nowMs: REQUESTED });
      const ids = async (query: Parameters<Store['listBackfills']>[0]) => (await store.listBackfills(query)).map((x) => x.id);
      assert.deepEqual(await ids({ taskId }), [c.id, b.id, a.id]);
      assert.deepEqual(await ids({ taskId, limit: 2 }), [c.id, b.id]);
      assert.deepEqual(await ids({ taskId, limit: 2, offset: 2 }), [a.id]);
      assert.deepEqual(await ids({ taskId, status: 'cancelled' }), [a.id]);
      assert.deepEqual(await ids({ taskId, status: 'cancelling' }), [b.id]);
      assert.deepEqual(await ids({ taskId: uniqueId('bf-none') }), []);
      const all = await ids({});
      assert.ok([c.id, b.id, a.id, other.id].every((id) => all.includes(id)));
      assert.deepEqual(all, [...all].sort((x, y) => y - x), 'newest first across tasks');
      assert.ok((await ids({ status: 'running' })).includes(other.id));
      const active = await store.activeBackfills();
      assert.deepEqual(active.filter((id) => [a.id, b.id, c.id, other.id].includes(id)), [b.id, c.id, other.id]);
      assert.deepEqual(active, [...active].sort((x, y) => x - y));
    });
  });

  describe('backfill claims', () => {
    it('claims at the version read: running backfill runs of its slots, and the next slot moves on', async () => {
      const store = ctx.store();
      const backfill = await createdBackfill(store, newBackfill(uniqueId('bf-claim'), T0, T0 + 5 * MINUTE));
      const won = await store.claimBackfillRuns(claimOf(backfill, [T0, T0 + MINUTE], T0 + 2 * MINUTE));
      assert.ok(won);
      assert.deepEqual(won.map((r) => r.slot).sort(), [T0, T0 + MINUTE]);
      for (const run of won) {
        assert.deepEqual(await store.getRun(run.id), run);
        assert.equal(run.taskId, backfill.taskId);
        assert.equal(run.trigger, 'backfill');
        assert.equal(run.backfillId, backfill.id);
        assert.equal(run.attempt, 1);
        assert.equal(run.status, 'running');
        assert.equal(run.owner, 'owner-a');
        assert.equal(run.createdMs, REQUESTED + 10);
        assert.equal(run.startedMs, REQUESTED + 10);
        assert.equal(run.latenessMs, REQUESTED + 10 - (run.slot ?? 0));
        assert.equal(run.leaseUntilMs, REQUESTED + 10 + LEASE_MS);
      }
      const after = await current(store, backfill.id);
      assert.equal(after.version, 1);
      assert.equal(after.nextSlot, T0 + 2 * MINUTE);
      // A claim whose runs are all there already still moves the backfill on, and inserts nothing.
      assert.deepEqual(await store.claimBackfillRuns(claimOf(after, [T0], null)), []);
      assert.deepEqual(await current(store, backfill.id), { ...after, version: 2, nextSlot: null });
    });

    it('a claim at a stale version, of another task or of a backfill no longer running inserts nothing', async () => {
      const store = ctx.store();
      const backfill = await createdBackfill(store, newBackfill(uniqueId('bf-stale'), T0, T0 + 5 * MINUTE));
      await claimBackfill(store, backfill, [T0], T0 + MINUTE);
      assert.equal(await store.claimBackfillRuns(claimOf(backfill, [T0 + MINUTE], T0 + 2 * MINUTE)), undefined, 'version 0 is stale');
      const now = await current(store, backfill.id);
      assert.equal(await store.claimBackfillRuns({ ...claimOf(now, [T0 + MINUTE], null), taskId: uniqueId('bf-stale-other') }), undefined);
      await store.endBackfill(backfill.id, { status: 'cancelled', reason: 'by ops', nowMs: REQUESTED });
      assert.equal(await store.claimBackfillRuns(claimOf(now, [T0 + MINUTE], null)), undefined, 'cancelling: nothing starts');
      assert.deepEqual((await store.listRuns(backfill.taskId)).map((r) => r.slot), [T0]);
      assert.deepEqual(await current(store, backfill.id), { ...now, status: 'cancelling', reason: 'by ops' });
      assert.equal(await store.claimBackfillRuns({ ...claimOf(now, [T0], null), backfillId: 2 ** 40 }), undefined);
    });

    it('two concurrent claims at one version: exactly one inserts its runs', async () => {
      const store = ctx.store();
      const backfill = await createdBackfill(store, newBackfill(uniqueId('bf-claim-race'), T0, T0 + 20 * MINUTE));
      const slots = Array.from({ length: 10 }, (_, k) => T0 + k * MINUTE);
      const claims = ['owner-a', 'owner-b', 'owner-c', 'owner-d'].map((owner, k) => claimOf(backfill, k % 2 ? [...slots].reverse() : slots, T0 + 10 * MINUTE, owner));
      const results = await Promise.all(claims.map((claim) => store.claimBackfillRuns(claim)));
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.equal(winners[0]?.length, slots.length);
      const runs = await store.listRuns(backfill.taskId);
      assert.equal(runs.length, slots.length);
      assert.equal(new Set(runs.map((r) => r.owner)).size, 1);
      assert.equal((await current(store, backfill.id)).version, 1);
    });

    it('a backfill run and the scheduled run of one slot have separate claim keys', async () => {
      const store = ctx.store();
      const taskId = uniqueId('bf-keys');
      const scheduled = await claimOne(store, taskId, T0);
      const backfill = await createdBackfill(store, newBackfill(taskId, T0, T0 + 5 * MINUTE));
      const [beside] = await claimBackfill(store, backfill, [T0, T0 + MINUTE], T0 + 2 * MINUTE);
      assert.notEqual(beside, scheduled);
      // The scheduled claim of a slot that only a backfill ran is still won, once.
      const [won] = await store.claimSlots([{ taskId, slot: T0 + MINUTE, owner: 'owner-b', nowMs: T0 + MINUTE, leaseMs: LEASE_MS }]);
      assert.equal(won?.trigger, 'schedule');
      assert.equal(won?.backfillId, null);
      assert.deepEqual(await store.claimSlots([{ taskId, slot: T0 + MINUTE, owner: 'owner-b', nowMs: T0 + MINUTE, leaseMs: LEASE_MS }]), []);
      // A retry of the scheduled slot, and a skipped slot, go by the scheduled key alone.
      const retry = { taskId, slot: T0, attempt: 2, trigger: 'schedule' as const, owner: 'owner-a', nowMs: T0 + 5, leaseMs: LEASE_MS };
      assert.equal((await store.insertRun(retry))?.attempt, 2);
      assert.equal(await store.insertRun(retry), undefined);
      assert.equal((await store.insertRun({ ...retry, slot: T0 + 2 * MINUTE, attempt: 1, skipped: { reason: 'overlap' } }))?.status, 'skipped');
      assert.equal((await claimBackfill(store, backfill, [T0 + 2 * MINUTE], null)).length, 1);
      const runs = await store.listRuns(taskId);
      assert.deepEqual(runs.filter((r) => r.trigger === 'backfill').map((r) => r.slot).sort(), [T0, T0 + MINUTE, T0 + 2 * MINUTE]);
      assert.ok(runs.every((r) => (r.trigger === 'backfill') === (r.backfillId === backfill.id)));
    });

    it("insertRun cannot make a backfill run: a run is a backfill's exactly when it names one", async () => {
      const run = { taskId: uniqueId('bf-insert'), slot: T0, attempt: 1, trigger: 'backfill' as const, owner: 'owner-a', nowMs: T0, leaseMs: LEASE_MS };
      await assert.rejects(ctx.store().insertRun(run));
    });
  });

  describe('backfill progress and end', () => {
    it('backfillProgress counts slots by their last attempt and re-runs lost and shutdown-killed slots while attempts are left', async () => {
      const store = ctx.store();
      const backfill = await createdBackfill(store, newBackfill(uniqueId('bf-progress'), T0, T0 + 6 * MINUTE));
      assert.deepEqual(await store.backfillProgress(backfill.id, 3), { backfill, running: 0, reruns: [], counts: { ...zero, pending: 6 } });
      const slot = (k: number) => T0 + k * MINUTE;
      const [ok, bad, lost, killed, going] = await claimBackfill(store, backfill, [0, 1, 2, 3, 4].map(slot), slot(5));
      await store.finishRun(ok as number, succeeded(REQUESTED + 20, 5));
      await store.finishRun(bad as number, failed(REQUESTED + 20, 5));
      await store.abandonRun(lost as number, 'lost', SHUTDOWN, REQUESTED + 30);
      await store.abandonRun(killed as number, 'failed', SHUTDOWN, REQUESTED + 30);
      let progress = await store.backfillProgress(backfill.id, 3);
      assert.equal(progress?.backfill.version, 1);
      assert.equal(progress?.running, 1);
      assert.deepEqual(progress?.reruns, [{ slot: slot(2), attempt: 2 }, { slot: slot(3), attempt: 2 }]);
      assert.deepEqual(progress?.counts, { ...zero, pending: 1, running: 1, succeeded: 1, failed: 2, lost: 1 });

      // Re-run both: attempt 2 counts, not attempt 1. One is lost again when its lease runs out; the
      // other runs of the backfill have ended by then.
      const [lostAgain, rerun] = await claimBackfill(store, backfill, progress?.reruns ?? [], slot(5));
      progress = await store.backfillProgress(backfill.id, 3);
      assert.deepEqual(progress?.reruns, []);
      assert.deepEqual(progress?.counts, { ...zero, pending: 1, running: 3, succeeded: 1, failed: 1 });
      await store.finishRun(rerun as number, succeeded(REQUESTED + 40, 5));
      await store.finishRun(going as number, succeeded(REQUESTED + 40, 5));
      const expired = await store.expireLeases(REQUESTED + 10 + LEASE_MS + 1);
      assert.ok(expired.some((r) => r.id === lostAgain));
      assert.deepEqual((await store.backfillProgress(backfill.id, 3))?.reruns, [{ slot: slot(2), attempt: 3 }]);
      assert.deepEqual((await store.backfillProgress(backfill.id, 2))?.reruns, [], 'attempt 2 was the last of 2');
      const [third] = await claimBackfill(store, backfill, [{ slot: slot(2), attempt: 3 }], slot(5));
      await store.abandonRun(third as number, 'lost', SHUTDOWN, REQUESTED + 50);
      progress = await store.backfillProgress(backfill.id, 3);
      assert.deepEqual(progress?.reruns, [], 'attempt 3 was the last of 3');
      assert.deepEqual(progress?.counts, { ...zero, pending: 1, succeeded: 3, failed: 1, lost: 1 });
      assert.equal(progress?.running, 0);
      assert.equal(await store.backfillProgress(2 ** 40, 3), undefined);
    });

    it('completes only at the version read and once none of its runs is running, with its counts frozen', async () => {
      const store = ctx.store();
      const backfill = await createdBackfill(store, newBackfill(uniqueId('bf-complete'), T0, T0 + 2 * MINUTE));
      const [a, b] = await claimBackfill(store, backfill, [T0, T0 + MINUTE], null);
      const complete = (version: number) => store.endBackfill(backfill.id, { status: 'completed', version, nowMs: REQUESTED + 99 });
      assert.equal(await complete(1), undefined, 'two runs still running');
      await store.finishRun(a as number, succeeded(REQUESTED + 20, 5));
      assert.equal(await complete(1), undefined, 'one run still running');
      await store.finishRun(b as number, failed(REQUESTED + 20, 5, 'timed_out'));
      assert.equal(await complete(0), undefined, 'version 0 is stale');
      const done = await complete(1);
      assert.deepEqual(done, {
        ...(await store.getBackfill(backfill.id)), status: 'completed', finishedMs: REQUESTED + 99, counts: { ...zero, succeeded: 1, timed_out: 1 },
      });
      assert.deepEqual(await store.getBackfill(backfill.id), done);
      assert.equal(await complete(1), undefined);
      assert.equal(await store.endBackfill(backfill.id, { status: 'cancelled', reason: 'late', nowMs: REQUESTED + 100 }), undefined);
      assert.equal(await store.endBackfill(backfill.id, { status: 'cancel-done', nowMs: REQUESTED + 100 }), undefined);
      assert.ok(!(await store.activeBackfills()).includes(backfill.id));
      assert.equal(await store.endBackfill(2 ** 40, { status: 'completed', version: 0, nowMs: REQUESTED }), undefined);
    });

    it('cancelling while its runs go, cancelled once they ended, with the reason kept and counts frozen', async () => {
      const store = ctx.store();
      const backfill = await createdBackfill(store, newBackfill(uniqueId('bf-cancel'), T0, T0 + 3 * MINUTE));
      const [a, b] = await claimBackfill(store, backfill, [T0, T0 + MINUTE], T0 + 2 * MINUTE);
      assert.equal(await store.endBackfill(backfill.id, { status: 'cancel-done', nowMs: REQUESTED }), undefined, 'not cancelling');
      const cancelling = await store.endBackfill(backfill.id, { status: 'cancelled', reason: 'cancelled by ann', nowMs: REQUESTED + 50 });
      assert.deepEqual(cancelling, { ...(await current(store, backfill.id)), status: 'cancelling', reason: 'cancelled by ann', finishedMs: null, counts: null });
      assert.equal(await store.endBackfill(backfill.id, { status: 'cancelled', reason: 'again', nowMs: REQUESTED + 51 }), undefined);
      assert.equal(await store.endBackfill(backfill.id, { status: 'completed', version: 1, nowMs: REQUESTED + 51 }), undefined);
      assert.ok((await store.activeBackfills()).includes(backfill.id));
      await store.finishRun(a as number, succeeded(REQUESTED + 20, 5));
      assert.equal(await store.endBackfill(backfill.id, { status: 'cancel-done', nowMs: REQUESTED + 60 }), undefined, 'one run still running');
      await store.abandonRun(b as number, 'failed', SHUTDOWN, REQUESTED + 70);
      const cancelled = await store.endBackfill(backfill.id, { status: 'cancel-done', nowMs: REQUESTED + 80 });
      assert.deepEqual(cancelled, {
        ...cancelling, status: 'cancelled', reason: 'cancelled by ann', finishedMs: REQUESTED + 80, counts: { ...zero, pending: 1, succeeded: 1, failed: 1 },
      });
      assert.equal(await store.endBackfill(backfill.id, { status: 'cancel-done', nowMs: REQUESTED + 90 }), undefined);
      assert.ok(!(await store.activeBackfills()).includes(backfill.id));

      // Nothing running: cancelled at once.
      const idle = await createdBackfill(store, newBackfill(uniqueId('bf-cancel-idle'), T0, T0 + 3 * MINUTE));
      assert.deepEqual(await store.endBackfill(idle.id, { status: 'cancelled', reason: 'task deleted', nowMs: REQUESTED + 5 }), {
        ...idle, status: 'cancelled', reason: 'task deleted', finishedMs: REQUESTED + 5, counts: { ...zero, pending: 3 },
      });
    });
  });
}
