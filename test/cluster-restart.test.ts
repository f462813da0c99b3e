// After a cluster-wide outage two replicas start together: catch-up runs once and ended tasks are
// deleted once, not once per replica.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startFetchRecorder, type FetchRecorder } from '../bench/support/fetch-recorder.js';
import { createClusterDatabase, scheduledRuns, type ClusterDatabase, CLUSTER_TEST_POLICY } from './support/cluster-db.js';
import { startDirectorProcess, type DirectorProcess } from './support/director-process.js';
import { within } from './support/wait.js';

const TASKS = 20;
const INTERVAL_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('two replicas starting after a cluster-wide outage', () => {
  let db: ClusterDatabase;
  let assets: FetchRecorder;
  const started: DirectorProcess[] = [];
  const suffix = randomBytes(3).toString('hex');

  before(async () => {
    db = await createClusterDatabase('restart');
    assets = await startFetchRecorder('module.exports.main = () => 1;');
  });
  after(async () => {
    for (const replica of started) if (replica.child.exitCode === null && replica.child.signalCode === null) replica.kill('SIGKILL');
    await Promise.all(started.map((r) => r.exited));
    await assets.close();
    await db.drop();
  });

  const start = async (name: string) => {
    const replica = await startDirectorProcess({ DIRECTOR_DATABASE_URL: db.url, DIRECTOR_INSTANCE_ID: `${name}-${suffix}`, DIRECTOR_ASSETS_URL: assets.url, DIRECTOR_EXECUTORS: '1', DIRECTOR_SCRIPT_POLICY: CLUSTER_TEST_POLICY }, 30_000);
    started.push(replica);
    return replica;
  };
  const stop = async (replica: DirectorProcess) => {
    replica.kill('SIGTERM');
    assert.equal(await within(replica.exited, 20_000, 'a clean exit'), 0, replica.output().slice(-2000));
  };

  it('runs each task\'s catch-up slot once and deletes each ended task once', async () => {
    const first = await start('first');
    const base = Math.ceil((Date.now() + 1500) / 1000) * 1000;
    const endAt = base + 6000;
    for (let i = 0; i < TASKS; i++) {
      const bodies = [
        { id: `once-${i}`, script: assets.scriptUrl(`once-${i}`), running: true, init: base, interval: INTERVAL_MS, catchUp: 'once' },
        { id: `ends-${i}`, script: assets.scriptUrl(`ends-${i}`), running: true, init: base, interval: 60_000, end: new Date(endAt).toISOString() },
      ];
      for (const body of bodies) {
        const response = await fetch(`${first.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.equal(response.status, 200, await response.text());
      }
    }
    await sleep(base + 1500 - Date.now());
    await stop(first);
    const downFrom = Date.now();
    await sleep(endAt + 1500 - Date.now()); // every replica down: slots pass, and so does the end
    const restartedAt = Date.now();
    const replicas = await Promise.all([start('a'), start('b')]);
    const startedAt = Date.now();
    await sleep(3000);
    for (const replica of replicas) await stop(replica);

    // catchUp "once": of the slots every replica found missed (older than the 2 s start-up grace when the
    // first started), at most one runs, not one per replica. The two replicas start a little apart, so
    // the newest missed slot may differ by one between them: each records its own skipped row, and the
    // catch-up run is the newest slot one of them found missed.
    const rows = await scheduledRuns(db);
    for (let i = 0; i < TASKS; i++) {
      const mine = rows.filter((r) => r.task_id === `once-${i}` && r.slot_ms > downFrom);
      const missedByAll = mine.filter((r) => r.slot_ms <= restartedAt - 2000);
      const ranMissed = missedByAll.filter((r) => r.status === 'succeeded');
      assert.ok(ranMissed.length <= 1, `once-${i} caught up ${ranMissed.length} times: ${JSON.stringify(missedByAll)}`);
      assert.ok(missedByAll.filter((r) => r.status === 'skipped').length <= 2, `once-${i}: more skipped rows than replicas`);
      const caughtUp = mine.filter((r) => r.status === 'succeeded' && r.slot_ms <= startedAt - 2000 + INTERVAL_MS);
      assert.ok(caughtUp.length >= 1, `once-${i} did not catch up: ${JSON.stringify(mine)}`);
      const expected = Math.floor((restartedAt - 2000 - base) / INTERVAL_MS) - Math.floor((downFrom - base) / INTERVAL_MS);
      assert.ok(expected >= 2, 'several slots were missed while every replica was down');
    }
    const doubles = new Map<string, number>();
    for (const row of rows) if (row.status !== 'skipped') doubles.set(`${row.task_id}@${row.slot_ms}`, (doubles.get(`${row.task_id}@${row.slot_ms}`) ?? 0) + 1);
    assert.deepEqual([...doubles].filter(([, n]) => n > 1), []);

    // Ended tasks are gone, and exactly one replica reported each end.
    const left = await db.query<{ id: string }>("SELECT id FROM tasks WHERE id LIKE 'ends-%'");
    assert.deepEqual(left, []);
    const reports = replicas.flatMap((r) => r.output().split('\n')).filter((line) => line.includes('task reached its end and was deleted'));
    const perTask = new Map<string, number>();
    for (const line of reports) {
      const id = /"taskId":"([^"]+)"/.exec(line)?.[1] ?? '?';
      perTask.set(id, (perTask.get(id) ?? 0) + 1);
    }
    assert.equal(perTask.size, TASKS, `ends reported: ${JSON.stringify([...perTask])}`);
    assert.ok([...perTask.values()].every((n) => n === 1), 'each end was reported by one replica only');
  });
});
