// Store contract, tasks: upsert, read, list (filter, order, pages), count, delete, end-of-life delete.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimOne, makeTask, MINUTE, scheduledTask, T0, uniqueId, type ContractContext } from './store-fixtures.contract.js';

export function describeTaskCases(ctx: ContractContext): void {
  describe('tasks', () => {
    it('returns a task deep-equal to what was put, unknown fields included', async () => {
      const id = uniqueId('roundtrip');
      const task = makeTask({
        zeta: 1,
        id,
        script: '  https://assets.test/hello.js ',
        running: 'true',
        init: '2030-01-01T00:00:00Z',
        end: 1_900_000_000_000,
        interval: '5000',
        config: { nested: { list: [1, 'two', null], unicode: 'ñ ✓ \u2028' } },
        tags: { keyValue: { type: 'course', courseId: 'c1' } },
        retries: { max: 2, backoffMs: 100 },
        overlap: 'queue',
        alpha: false,
      });
      assert.equal(await ctx.store().putTask(task), 'created');
      const got = await ctx.store().getTask(id);
      assert.deepEqual(got, task);
      // The client's key order is part of "verbatim": it is what GET sends back.
      assert.equal(JSON.stringify(got?.doc), JSON.stringify(task.doc));
    });

    it('keeps a cron task\'s cron and timezone, and drops them when it is replaced by an interval task', async () => {
      const id = uniqueId('cron');
      const task = makeTask({ id, script: 'hello.js', running: true, cron: '*/5 * * * * *', timezone: 'Europe/Madrid', init: T0 });
      assert.equal(await ctx.store().putTask(task), 'created');
      const got = await ctx.store().getTask(id);
      assert.deepEqual(got, task);
      assert.deepEqual(got?.cron, { expression: '*/5 * * * * *', timezone: 'Europe/Madrid' });
      await ctx.store().putTask(scheduledTask(id));
      assert.equal((await ctx.store().getTask(id))?.cron, null);
    });

    it('returns undefined for a task that was never put', async () => {
      assert.equal(await ctx.store().getTask(uniqueId('missing')), undefined);
    });

    it("replaces a task fully on a second put and reports 'replaced'", async () => {
      const id = uniqueId('replace');
      assert.equal(await ctx.store().putTask(scheduledTask(id, { owner: 'first', extra: 'gone after replace' })), 'created');
      const second = makeTask({ id, script: 'other.js', running: false, owner: 'second' }, T0, T0 + 1000);
      assert.equal(await ctx.store().putTask(second), 'replaced');
      const got = await ctx.store().getTask(id);
      assert.deepEqual(got, second);
      assert.equal(got?.doc.extra, undefined);
      assert.equal(got?.intervalMs, null);
    });

    it('filters list on top-level string fields, every filter must match', async () => {
      const group = uniqueId('group');
      const a = scheduledTask(uniqueId('filter-a'), { group, kind: 'alpha' });
      const b = scheduledTask(uniqueId('filter-b'), { group, kind: 'beta' });
      const c = scheduledTask(uniqueId('filter-c'), { group: { nested: group }, kind: 'alpha' });
      for (const t of [a, b, c]) await ctx.store().putTask(t);
      assert.deepEqual((await ctx.store().listTasks({ filter: { group } })).map((t) => t.id), [a.id, b.id]);
      assert.deepEqual((await ctx.store().listTasks({ filter: { group, kind: 'beta' } })).map((t) => t.id), [b.id]);
      assert.deepEqual(await ctx.store().listTasks({ filter: { group, kind: 'gamma' } }), []);
    });

    it('matches only string values: numbers, booleans and nested fields never equal a filter', async () => {
      const group = uniqueId('typed');
      await ctx.store().putTask(scheduledTask(uniqueId('typed'), { group, n: 5, flag: true, nested: { group } }));
      const store = ctx.store();
      assert.deepEqual(await store.listTasks({ filter: { group, n: '5' } }), []);
      assert.deepEqual(await store.listTasks({ filter: { group, flag: 'true' } }), []);
      assert.deepEqual(await store.listTasks({ filter: { 'nested.group': group } }), []);
    });

    it('treats a filter field name as a plain key, never as a JSON path or SQL', async () => {
      const group = uniqueId('odd');
      const odd = `a.b"[0]' OR 1=1 --`;
      const task = scheduledTask(uniqueId('odd'), { group, [odd]: 'v', $: 'dollar' });
      await ctx.store().putTask(task);
      assert.deepEqual((await ctx.store().listTasks({ filter: { group, [odd]: 'v' } })).map((t) => t.id), [task.id]);
      assert.deepEqual((await ctx.store().listTasks({ filter: { group, $: 'dollar' } })).map((t) => t.id), [task.id]);
      assert.deepEqual(await ctx.store().listTasks({ filter: { group, [odd]: 'w' } }), []);
    });

    it('paginates list with limit and offset in creation order, a replaced task keeping its place', async () => {
      const group = uniqueId('page');
      // Ids sort opposite to creation order, so an id-ordered store would fail here.
      const ids = ['e', 'd', 'c', 'b', 'a'].map((letter) => `${letter}-${group}`);
      for (const id of ids) await ctx.store().putTask(scheduledTask(id, { group }));
      await ctx.store().putTask(scheduledTask(ids[1] as string, { group, replaced: 'yes' }));
      const page = async (limit?: number, offset?: number) =>
        (await ctx.store().listTasks({ filter: { group }, ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }) })).map((t) => t.id);
      assert.deepEqual(await page(), ids);
      assert.deepEqual(await page(2), ids.slice(0, 2));
      assert.deepEqual(await page(2, 2), ids.slice(2, 4));
      assert.deepEqual(await page(10, 4), ids.slice(4));
      assert.deepEqual(await page(undefined, 3), ids.slice(3));
      assert.deepEqual(await page(0), []);
    });

    it('lists every task when no filter is given', async () => {
      const ids = [uniqueId('all'), uniqueId('all')];
      for (const id of ids) await ctx.store().putTask(scheduledTask(id));
      const listed = new Set((await ctx.store().listTasks()).map((t) => t.id));
      for (const id of ids) assert.ok(listed.has(id), `${id} is listed`);
    });

    it('countTasks counts total and running', async () => {
      const before = await ctx.store().countTasks();
      await ctx.store().putTask(scheduledTask(uniqueId('count')));
      await ctx.store().putTask(scheduledTask(uniqueId('count')));
      const stopped = scheduledTask(uniqueId('count'), { running: false });
      await ctx.store().putTask(stopped);
      assert.deepEqual(await ctx.store().countTasks(), { total: before.total + 3, running: before.running + 2 });
      await ctx.store().putTask(scheduledTask(stopped.id, { running: true }));
      assert.deepEqual(await ctx.store().countTasks(), { total: before.total + 3, running: before.running + 3 });
    });

    it('deletes a task once: true, then false, and it is gone', async () => {
      const id = uniqueId('delete');
      await ctx.store().putTask(scheduledTask(id));
      assert.equal(await ctx.store().deleteTask(id), true);
      assert.equal(await ctx.store().deleteTask(id), false);
      assert.equal(await ctx.store().getTask(id), undefined);
      assert.equal(await ctx.store().deleteTask(uniqueId('never')), false);
    });

    it('deleting a task keeps its runs', async () => {
      const id = uniqueId('history');
      await ctx.store().putTask(scheduledTask(id));
      const runId = await claimOne(ctx.store(), id, T0 + MINUTE);
      await ctx.store().deleteTask(id);
      assert.equal((await ctx.store().getRun(runId))?.taskId, id);
      assert.deepEqual((await ctx.store().listRuns(id)).map((r) => r.id), [runId]);
    });

    it('deleteEndedTask deletes a running ended task exactly once and keeps a stopped one', async () => {
      const end = T0 + 10 * MINUTE;
      const ended = scheduledTask(uniqueId('ended'), { end });
      const stopped = scheduledTask(uniqueId('ended-stopped'), { end, running: false });
      const notYet = scheduledTask(uniqueId('ended-later'), { end: end + MINUTE });
      const endless = scheduledTask(uniqueId('endless'));
      for (const t of [ended, stopped, notYet, endless]) await ctx.store().putTask(t);
      const store = ctx.store();
      assert.equal(await store.deleteEndedTask(ended.id, end - 1), false, 'not before its end');
      const racing = await Promise.all([store.deleteEndedTask(ended.id, end), store.deleteEndedTask(ended.id, end)]);
      assert.deepEqual(racing.filter(Boolean).length, 1, 'exactly one caller deletes it');
      assert.equal(await store.getTask(ended.id), undefined);
      assert.equal(await store.deleteEndedTask(stopped.id, end + 1), false);
      assert.equal(await store.deleteEndedTask(notYet.id, end + 1), false);
      assert.equal(await store.deleteEndedTask(endless.id, end + 1), false);
      for (const t of [stopped, notYet, endless]) assert.ok(await store.getTask(t.id), `${t.id} is kept`);
    });
  });
}
