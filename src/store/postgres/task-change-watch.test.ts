// PostgreSQL change notifications and live replicas: two stores on one schema stand for two replicas.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { withClient } from '../../../test/support/scratch-database.js';
import { parseTask } from '../../domain/task.js';
import type { ClusterStore, TaskChangeNotice } from '../store.js';
import { openPostgresStore } from './postgres-store.js';

const url = process.env.DIRECTOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `director_watch_${process.pid}_${randomBytes(3).toString('hex')}`;
const suffix = randomBytes(3).toString('hex');
const T0 = Date.UTC(2030, 0, 1);

after(() => withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`)));

function task(id: string) {
  return parseTask({ id, script: 'hello.js', running: true, init: T0, interval: 60_000 }, { fallbackId: id, createdMs: T0, nowMs: T0 });
}

/** A listener that records notices and lets the test wait for the next one that matches. */
function recorder() {
  const notices: TaskChangeNotice[] = [];
  const waiters: { where: (n: TaskChangeNotice) => boolean; resolve: (n: TaskChangeNotice) => void }[] = [];
  return {
    notices,
    listener(notice: TaskChangeNotice) {
      notices.push(notice);
      for (const waiter of waiters.splice(0)) {
        if (waiter.where(notice)) waiter.resolve(notice);
        else waiters.push(waiter);
      }
    },
    next(where: (n: TaskChangeNotice) => boolean, ms = 5000): Promise<TaskChangeNotice> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching notice within ${ms} ms; got ${JSON.stringify(notices)}`)), ms);
        waiters.push({ where, resolve: (n) => { clearTimeout(timer); resolve(n); } });
      });
    },
  };
}

describe('PostgreSQL task change notifications', () => {
  const opened: ClusterStore[] = [];
  after(() => Promise.all(opened.map((s) => s.close())));
  async function open(instanceId: string): Promise<ClusterStore> {
    const store = await openPostgresStore({ url, schema, instanceId });
    opened.push(store);
    return store;
  }

  it('tells another replica about puts and deletes with the change, but not the writer itself', async () => {
    const [a, b] = [await open(`watch-a-${suffix}`), await open(`watch-b-${suffix}`)];
    const seenByA = recorder();
    const seenByB = recorder();
    const stopA = await a.watchTaskChanges(seenByA.listener);
    const stopB = await b.watchTaskChanges(seenByB.listener);
    try {
      assert.deepEqual(seenByB.notices, [{ kind: 'all' }], 'a fresh watch starts with a full re-read');
      const created = seenByB.next((n) => n.kind === 'task');
      await a.putTask(task('w1'));
      assert.deepEqual(await created, { kind: 'task', id: 'w1', change: 'created' });
      const replaced = seenByB.next((n) => n.kind === 'task' && n.change === 'replaced');
      await a.putTask(task('w1'));
      assert.deepEqual(await replaced, { kind: 'task', id: 'w1', change: 'replaced' });
      const deleted = seenByB.next((n) => n.kind === 'task' && n.change === 'deleted');
      assert.equal(await a.deleteTask('w1'), true);
      await deleted;
      // A delete that removed nothing announces nothing; the next notice is B's write, seen by A.
      assert.equal(await a.deleteTask('w1'), false);
      const fromB = seenByA.next((n) => n.kind === 'task');
      await b.putTask(task('w2'));
      assert.deepEqual(await fromB, { kind: 'task', id: 'w2', change: 'created' });
      assert.deepEqual(seenByA.notices.filter((n) => n.kind === 'task').map((n) => n.kind === 'task' && n.id), ['w2'], 'A never hears of its own writes');
      assert.equal(seenByB.notices.filter((n) => n.kind === 'task' && n.change === 'deleted').length, 1);
    } finally {
      await stopA();
      await stopB();
    }
  });

  it('lists the replicas whose watch is connected, and forgets one that stopped', async () => {
    const [a, b] = [await open(`live-a-${suffix}`), await open(`live-b-${suffix}`)];
    const stopA = await a.watchTaskChanges(() => {});
    const stopB = await b.watchTaskChanges(() => {});
    const mine = (names: string[]) => names.filter((n) => n.startsWith('live-') && n.endsWith(suffix));
    assert.deepEqual(mine(await a.liveReplicas()), [`live-a-${suffix}`, `live-b-${suffix}`]);
    await stopB();
    assert.deepEqual(mine(await a.liveReplicas()), [`live-a-${suffix}`]);
    await stopA();
    assert.deepEqual(mine(await b.liveReplicas()), []);
  });

  it('re-listens after its connection is terminated, asks for a full re-read, and hears writes again', async () => {
    const [a, b] = [await open(`drop-a-${suffix}`), await open(`drop-b-${suffix}`)];
    const seen = recorder();
    const stop = await b.watchTaskChanges(seen.listener);
    try {
      const reread = seen.next((n) => n.kind === 'all' && seen.notices.length > 1);
      const killed = await withClient(url, async (client) =>
        (await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`drop-b-${suffix}`])).rowCount);
      assert.ok((killed ?? 0) >= 1);
      await reread;
      const heard = seen.next((n) => n.kind === 'task' && n.id === 'after-drop');
      await a.putTask(task('after-drop'));
      await heard;
      // B's pool lost its connections too: its next operations still work on fresh ones.
      let answered = false;
      for (let attempt = 0; attempt < 3 && !answered; attempt++) answered = await b.getTask('after-drop').then((t) => t !== undefined, () => false);
      assert.ok(answered);
    } finally {
      await stop();
    }
  });
});
