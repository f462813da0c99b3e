// Store contract, runs: claims, inserts, finishing, leases, history, stats and retention.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClaimRequest } from './store.js';
import {
  claimOne, failed, finishedRun, LEASE_MS, MINUTE, scriptError, succeeded, T0, uniqueId, type ContractContext,
} from './store-fixtures.contract.js';

export function describeRunCases(ctx: ContractContext): void {
  const claim = (taskId: string, slot: number, owner = 'owner-a'): ClaimRequest => ({ taskId, slot, owner, nowMs: slot + 5, leaseMs: LEASE_MS });

  describe('claims', () => {
    it('claims a slot once: a second claim of the same (task, slot) wins nothing', async () => {
      const id = uniqueId('claim');
      const slot = T0 + MINUTE;
      const [won] = await ctx.store().claimSlots([claim(id, slot)]);
      assert.ok(won);
      assert.equal(won.taskId, id);
      assert.equal(won.slot, slot);
      assert.equal(won.attempt, 1);
      assert.equal(won.trigger, 'schedule');
      assert.equal(won.status, 'running');
      assert.equal(won.owner, 'owner-a');
      assert.equal(won.createdMs, slot + 5);
      assert.equal(won.leaseUntilMs, slot + 5 + LEASE_MS);
      assert.deepEqual(await ctx.store().getRun(won.id), won);
      assert.deepEqual(await ctx.store().claimSlots([claim(id, slot)]), []);
      assert.deepEqual(await ctx.store().claimSlots([claim(id, slot, 'owner-b')]), []);
    });

    it('claims a batch and returns only the slots it won', async () => {
      const id = uniqueId('batch');
      const slots = [1, 2, 3, 4, 5].map((k) => T0 + k * MINUTE);
      await ctx.store().claimSlots([claim(id, slots[1] as number, 'owner-b'), claim(id, slots[3] as number, 'owner-b')]);
      const won = await ctx.store().claimSlots(slots.map((s) => claim(id, s)));
      assert.deepEqual(won.map((r) => r.slot).sort((x, y) => (x ?? 0) - (y ?? 0)), [slots[0], slots[2], slots[4]]);
      assert.ok(won.every((r) => r.owner === 'owner-a'));
      const other = uniqueId('batch-other');
      const mixed = await ctx.store().claimSlots([claim(other, T0), claim(id, T0 + 6 * MINUTE), claim(id, slots[0] as number)]);
      assert.deepEqual(mixed.map((r) => `${r.taskId}@${r.slot}`).sort(), [`${id}@${T0 + 6 * MINUTE}`, `${other}@${T0}`].sort());
      assert.deepEqual(await ctx.store().claimSlots([]), []);
    });

    it('concurrent claims of one slot from two owners give exactly one winner', async () => {
      const id = uniqueId('race');
      const slots = Array.from({ length: 40 }, (_, k) => T0 + k * MINUTE);
      // Opposite orders too: overlapping batches must wait for each other, never deadlock.
      const [a, b] = await Promise.all([
        ctx.store().claimSlots(slots.map((s) => claim(id, s, 'owner-a'))),
        ctx.store().claimSlots([...slots].reverse().map((s) => claim(id, s, 'owner-b'))),
      ]);
      assert.equal(a.length + b.length, slots.length);
      const winners = new Set([...a, ...b].map((r) => r.slot));
      assert.equal(winners.size, slots.length, 'no slot has two winners');
    });

    it('a slot recorded as skipped cannot be claimed afterwards', async () => {
      const id = uniqueId('skip-claim');
      const skipped = await ctx.store().insertRun({
        taskId: id, slot: T0, attempt: 1, trigger: 'schedule', owner: 'owner-a', nowMs: T0, leaseMs: LEASE_MS, skipped: { reason: 'overlap: previous run still going' },
      });
      assert.equal(skipped?.status, 'skipped');
      assert.deepEqual(await ctx.store().claimSlots([claim(id, T0)]), []);
    });
  });

  describe('runs', () => {
    it('insertRun returns undefined on a duplicate (task, slot, attempt) and accepts the next attempt', async () => {
      const id = uniqueId('attempts');
      await claimOne(ctx.store(), id, T0);
      const retry = { taskId: id, slot: T0, attempt: 2, trigger: 'schedule' as const, owner: 'owner-a', nowMs: T0 + 100, leaseMs: LEASE_MS };
      const second = await ctx.store().insertRun(retry);
      assert.equal(second?.attempt, 2);
      assert.equal(second?.status, 'running');
      assert.equal(await ctx.store().insertRun(retry), undefined);
      assert.equal(await ctx.store().insertRun({ ...retry, attempt: 1 }), undefined);
    });

    it('manual runs (slot null) never collide', async () => {
      const id = uniqueId('manual');
      const manual = { taskId: id, slot: null, attempt: 1, trigger: 'manual' as const, owner: 'owner-a', nowMs: T0, leaseMs: LEASE_MS };
      const runs = await Promise.all([ctx.store().insertRun(manual), ctx.store().insertRun(manual), ctx.store().insertRun(manual)]);
      assert.ok(runs.every((r) => r !== undefined && r.slot === null && r.trigger === 'manual'));
      assert.equal(new Set(runs.map((r) => r?.id)).size, 3);
    });

    it('insertRun records a skipped run as finished, with its reason in its logs', async () => {
      const id = uniqueId('skipped');
      const run = await ctx.store().insertRun({
        taskId: id, slot: T0, attempt: 1, trigger: 'schedule', owner: 'owner-a', nowMs: T0 + 7, leaseMs: LEASE_MS, skipped: { reason: 'missed while stopped' },
      });
      assert.ok(run);
      assert.equal(run.status, 'skipped');
      assert.equal(run.logs, 'missed while stopped');
      assert.equal(run.finishedMs, T0 + 7);
      assert.equal(run.startedMs, null);
      assert.equal(run.leaseUntilMs, null);
      assert.deepEqual(await ctx.store().runningRuns([id]), []);
    });

    it('finishRun writes outcome, result, error, logs, queued and entered times, durations, lateness (entered − slot), script URL and sha256', async () => {
      const id = uniqueId('finish');
      const okId = await claimOne(ctx.store(), id, T0);
      const claimed = await ctx.store().getRun(okId);
      const ok = await ctx.store().finishRun(okId, succeeded(T0 + 120, 500));
      assert.deepEqual(await ctx.store().getRun(okId), ok);
      assert.deepEqual(ok, {
        ...claimed,
        status: 'succeeded', result: '{"ok":true}', error: null, logs: 'hello\n', queuedMs: T0 + 119, startedMs: T0 + 120, finishedMs: T0 + 620,
        durationMs: 500, latenessMs: 120, scriptUrl: 'http://assets.test/api/v1/public/director/hello.js', scriptSha256: 'a'.repeat(64), leaseUntilMs: null,
      });
      const badId = await claimOne(ctx.store(), id, T0 + MINUTE);
      const bad = await ctx.store().finishRun(badId, failed(T0 + MINUTE + 3, 40));
      assert.equal(bad?.status, 'failed');
      assert.deepEqual(bad?.error, scriptError);
      assert.equal(bad?.result, null);
      assert.equal(bad?.latenessMs, 3);
      assert.equal(bad?.durationMs, 40);
      const slowId = await claimOne(ctx.store(), id, T0 + 2 * MINUTE);
      assert.equal((await ctx.store().finishRun(slowId, failed(T0 + 2 * MINUTE, 1000, 'timed_out')))?.error?.stage, 'timeout');
      const manual = await ctx.store().insertRun({ taskId: id, slot: null, attempt: 1, trigger: 'manual', owner: 'owner-a', nowMs: T0, leaseMs: LEASE_MS });
      assert.equal((await ctx.store().finishRun(manual?.id ?? -1, succeeded(T0 + 50, 5)))?.latenessMs, null, 'a manual run has no lateness');
    });

    it('finishRun keeps a null result for a success whose main returned undefined', async () => {
      const runId = await claimOne(ctx.store(), uniqueId('undefined-result'), T0);
      const run = await ctx.store().finishRun(runId, succeeded(T0, 10, null));
      assert.equal(run?.status, 'succeeded');
      assert.equal(run?.result, null);
      assert.equal(run?.error, null);
    });

    it('finishRun on a finished run changes nothing, and on an unknown run returns undefined', async () => {
      const id = uniqueId('finish-twice');
      const runId = await claimOne(ctx.store(), id, T0);
      const first = await ctx.store().finishRun(runId, succeeded(T0, 10));
      assert.equal(await ctx.store().finishRun(runId, failed(T0, 99)), undefined);
      assert.equal(await ctx.store().abandonRun(runId, 'lost', scriptError, T0 + 5000), undefined);
      assert.deepEqual(await ctx.store().getRun(runId), first);
      assert.equal(await ctx.store().finishRun(2 ** 40, succeeded(T0, 10)), undefined);
      assert.equal(await ctx.store().getRun(2 ** 40), undefined);
    });

    it('abandonRun ends a running run as lost or failed with its error, once', async () => {
      const id = uniqueId('abandon');
      const runId = await claimOne(ctx.store(), id, T0);
      const error = { stage: 'shutdown' as const, name: 'Shutdown', message: 'killed at shutdown after the grace period' };
      const run = await ctx.store().abandonRun(runId, 'failed', error, T0 + 2000);
      assert.equal(run?.status, 'failed');
      assert.deepEqual(run?.error, error);
      assert.equal(run?.finishedMs, T0 + 2000);
      assert.equal(run?.leaseUntilMs, null);
      assert.equal(await ctx.store().abandonRun(runId, 'lost', error, T0 + 3000), undefined);
    });

    it('abandonRun records a claimed run that never started as skipped, and its slot stays claimed', async () => {
      const id = uniqueId('abandon-skip');
      const runId = await claimOne(ctx.store(), id, T0);
      const why = { stage: 'executor' as const, name: 'Skipped', message: 'the task was stopped before its run started' };
      const run = await ctx.store().abandonRun(runId, 'skipped', why, T0 + 10);
      assert.equal(run?.status, 'skipped');
      assert.deepEqual(run?.error, why);
      assert.equal(run?.finishedMs, T0 + 10);
      assert.deepEqual(await ctx.store().claimSlots([claim(id, T0, 'owner-b')]), []);
      assert.deepEqual(await ctx.store().runningRuns([id]), []);
    });

    it('expireLeases marks only runs whose lease passed as lost', async () => {
      const id = uniqueId('expire');
      const store = ctx.store();
      const [early] = await store.claimSlots([{ taskId: id, slot: T0, owner: 'owner-a', nowMs: T0, leaseMs: 1000 }]);
      const [edge] = await store.claimSlots([{ taskId: id, slot: T0 + 1, owner: 'owner-a', nowMs: T0, leaseMs: 5000 }]);
      const [late] = await store.claimSlots([{ taskId: id, slot: T0 + 2, owner: 'owner-b', nowMs: T0, leaseMs: 60_000 }]);
      const doneId = await claimOne(store, id, T0 + 3, 'owner-a', T0);
      await store.finishRun(doneId, succeeded(T0, 1));
      const lost = (await store.expireLeases(T0 + 5000)).filter((r) => r.taskId === id);
      assert.deepEqual(lost.map((r) => r.id), [early?.id], 'a lease ending exactly now still holds');
      assert.equal(lost[0]?.status, 'lost');
      assert.equal(lost[0]?.finishedMs, T0 + 5000);
      assert.equal(lost[0]?.error?.name, 'LeaseExpired');
      assert.deepEqual((await store.runningRuns([id])).map((r) => r.id), [edge?.id, late?.id]);
      assert.equal((await store.getRun(doneId))?.status, 'succeeded');
      assert.deepEqual((await store.expireLeases(T0 + 5000)).filter((r) => r.taskId === id), [], 'a run is lost once');
    });

    it("renewLeases extends only the named runs that are that owner's and running", async () => {
      const id = uniqueId('renew');
      const store = ctx.store();
      // An owner name no other case uses, so the renewed count is exact.
      const owner = uniqueId('owner');
      const mine = [await claimOne(store, id, T0, owner), await claimOne(store, id, T0 + 1, owner)];
      const theirs = await claimOne(store, id, T0 + 2, uniqueId('owner'));
      const finished = await claimOne(store, id, T0 + 3, owner);
      await store.finishRun(finished, succeeded(T0, 1));
      assert.equal(await store.renewLeases(owner, T0 + 10 * MINUTE, [...mine, theirs, finished]), 2);
      for (const runId of mine) assert.equal((await store.getRun(runId))?.leaseUntilMs, T0 + 10 * MINUTE);
      assert.equal((await store.getRun(theirs))?.leaseUntilMs, T0 + 2 + LEASE_MS);
      assert.equal((await store.getRun(finished))?.leaseUntilMs, null);
      assert.equal(await store.renewLeases(uniqueId('nobody'), T0, mine), 0);
    });
  });

  describe('history', () => {
    it('listRuns is newest first and paginated', async () => {
      const id = uniqueId('list-runs');
      const ids: number[] = [];
      for (let k = 0; k < 5; k++) ids.push(await claimOne(ctx.store(), id, T0 + k * MINUTE));
      await claimOne(ctx.store(), uniqueId('list-runs-other'), T0);
      const newest = [...ids].reverse();
      assert.deepEqual((await ctx.store().listRuns(id)).map((r) => r.id), newest);
      assert.deepEqual((await ctx.store().listRuns(id, { limit: 2 })).map((r) => r.id), newest.slice(0, 2));
      assert.deepEqual((await ctx.store().listRuns(id, { limit: 2, offset: 2 })).map((r) => r.id), newest.slice(2, 4));
      assert.deepEqual((await ctx.store().listRuns(id, { offset: 4 })).map((r) => r.id), newest.slice(4));
      assert.deepEqual(await ctx.store().listRuns(uniqueId('no-runs')), []);
    });

    it('runStats counts outcomes, last finished run and consecutive failures since the last success', async () => {
      const id = uniqueId('stats');
      const store = ctx.store();
      const empty = await store.runStats(id);
      assert.deepEqual(empty, { counts: { running: 0, succeeded: 0, failed: 0, timed_out: 0, skipped: 0, lost: 0 }, lastRun: null, consecutiveFailures: 0 });
      await finishedRun(store, id, 'failed', T0);
      await finishedRun(store, id, 'succeeded', T0 + 1);
      await finishedRun(store, id, 'failed', T0 + 2);
      await store.insertRun({ taskId: id, slot: T0, attempt: 1, trigger: 'schedule', owner: 'a', nowMs: T0 + 3, leaseMs: 1, skipped: { reason: 'overlap' } });
      const lostRun = await claimOne(store, id, T0 + MINUTE, 'owner-a', T0 + 4);
      await store.abandonRun(lostRun, 'lost', scriptError, T0 + 5);
      const last = await finishedRun(store, id, 'timed_out', T0 + 6);
      await claimOne(store, id, T0 + 2 * MINUTE, 'owner-a', T0 + 7);
      const stats = await store.runStats(id);
      assert.deepEqual(stats.counts, { running: 1, succeeded: 1, failed: 2, timed_out: 1, skipped: 1, lost: 1 });
      // Skipped and lost runs neither count as failures nor reset the streak; a running one is not "last".
      assert.equal(stats.consecutiveFailures, 2);
      assert.equal(stats.lastRun?.id, last);
      await finishedRun(store, id, 'succeeded', T0 + 8);
      assert.equal((await store.runStats(id)).consecutiveFailures, 0);
    });

    it('failuresBefore counts the failures a run follows since the success before it', async () => {
      const id = uniqueId('before');
      const store = ctx.store();
      const first = await finishedRun(store, id, 'failed', T0);
      assert.equal(await store.failuresBefore(id, first), 0);
      const ok = await finishedRun(store, id, 'succeeded', T0 + 1);
      assert.equal(await store.failuresBefore(id, ok), 1);
      await finishedRun(store, id, 'failed', T0 + 2);
      await store.insertRun({ taskId: id, slot: T0, attempt: 1, trigger: 'schedule', owner: 'a', nowMs: T0 + 3, leaseMs: 1, skipped: { reason: 'overlap' } });
      const lostRun = await claimOne(store, id, T0 + MINUTE, 'owner-a', T0 + 4);
      await store.abandonRun(lostRun, 'lost', scriptError, T0 + 5);
      await finishedRun(store, id, 'timed_out', T0 + 6);
      const recovered = await finishedRun(store, id, 'succeeded', T0 + 7);
      // Skipped and lost runs neither count nor break the streak; later runs do not count.
      assert.equal(await store.failuresBefore(id, recovered), 2);
      await finishedRun(store, id, 'failed', T0 + 8);
      assert.equal(await store.failuresBefore(id, recovered), 2);
      assert.equal(await store.failuresBefore(uniqueId('no-runs'), 1), 0);
    });

    it('latestSlots gives the max slot per task, whatever the outcome, ignoring manual runs', async () => {
      const a = uniqueId('latest-a');
      const b = uniqueId('latest-b');
      const store = ctx.store();
      await claimOne(store, a, T0 + 3 * MINUTE);
      await claimOne(store, a, T0 + MINUTE);
      await store.insertRun({ taskId: b, slot: T0 + 9 * MINUTE, attempt: 1, trigger: 'schedule', owner: 'x', nowMs: T0, leaseMs: 1, skipped: { reason: 'catch-up' } });
      await claimOne(store, b, T0 + 2 * MINUTE);
      const manualOnly = uniqueId('latest-manual');
      await finishedRun(store, manualOnly, 'succeeded', T0 + 99 * MINUTE);
      const latest = await store.latestSlots();
      assert.equal(latest.get(a), T0 + 3 * MINUTE);
      assert.equal(latest.get(b), T0 + 9 * MINUTE);
      assert.equal(latest.has(manualOnly), false);
    });

    it('runningRuns lists the running runs of one task, any owner', async () => {
      const id = uniqueId('running');
      const store = ctx.store();
      const r1 = await claimOne(store, id, T0, 'owner-a');
      const r2 = await claimOne(store, id, T0 + 1, 'owner-b');
      const done = await claimOne(store, id, T0 + 2);
      await store.finishRun(done, succeeded(T0, 1));
      await claimOne(store, uniqueId('running-other'), T0);
      assert.deepEqual((await store.runningRuns([id])).map((r) => r.id), [r1, r2]);
    });

    it('trimRuns keeps the newest N per task and drops old ones, never running runs', async () => {
      const store = ctx.store();
      // Earlier cases left runs behind; trimming once with the same options first makes counts exact.
      await store.trimRuns({ keepPerTask: 3, olderThanMs: null });
      const a = uniqueId('trim-a');
      const b = uniqueId('trim-b');
      const oldRunning = await claimOne(store, a, T0 - MINUTE);
      const aRuns: number[] = [];
      for (let k = 0; k < 5; k++) aRuns.push(await finishedRun(store, a, k % 2 ? 'failed' : 'succeeded', T0 + k));
      const bRuns = [await finishedRun(store, b, 'succeeded', T0), await finishedRun(store, b, 'failed', T0 + 1)];
      assert.equal(await store.trimRuns({ keepPerTask: 3, olderThanMs: null }), 2);
      assert.deepEqual((await store.listRuns(a)).map((r) => r.id), [...aRuns.slice(2).reverse(), oldRunning]);
      assert.deepEqual((await store.listRuns(b)).map((r) => r.id), [...bRuns].reverse());

      await store.trimRuns({ keepPerTask: 0, olderThanMs: T0 + 500 });
      const c = uniqueId('trim-c');
      const cRunning = await claimOne(store, c, T0 - 10 * MINUTE, 'owner-a', T0 - 10 * MINUTE);
      const cOld = await finishedRun(store, c, 'succeeded', T0 + 10);
      const cNew = await finishedRun(store, c, 'succeeded', T0 + 1000);
      assert.equal(await store.trimRuns({ keepPerTask: 0, olderThanMs: T0 + 500 }), 1);
      assert.deepEqual((await store.listRuns(c)).map((r) => r.id), [cNew, cRunning]);
      assert.equal(await store.getRun(cOld), undefined);
      assert.equal(await store.trimRuns({ keepPerTask: 0, olderThanMs: null }), 0, 'zero and null keep everything');
    });
  });
}
