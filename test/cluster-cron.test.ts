// Three real Director processes on one PostgreSQL database run each instant of a cron task exactly once.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executionsBySlot, REPORTING_SCRIPT } from '../bench/support/fetch-recorder.js';
import { scheduledRuns, type RunRow } from './support/cluster-db.js';
import { useCluster } from './support/cluster-harness.js';
import type { DirectorProcess } from './support/director-process.js';
import { within } from './support/wait.js';

const RUN_MS = 6000;
/** Start-up of executors and JIT: the first instants may run late enough to be skipped by overlap. */
const WARM_UP_MS = 1000;
const TASKS = [
  { id: 'every-second-madrid', cron: '* * * * * *', timezone: 'Europe/Madrid', everyMs: 1000 },
  { id: 'every-second-new-york', cron: '*/1 * * * * *', timezone: 'America/New_York', everyMs: 1000 },
  { id: 'every-second-utc', cron: '* * * * * *', timezone: 'UTC', everyMs: 1000 },
  { id: 'every-other-second', cron: '*/2 * * * * *', timezone: 'Asia/Kolkata', everyMs: 2000 },
  { id: 'every-second-tokyo', cron: '* * * * * *', timezone: 'Asia/Tokyo', everyMs: 1000 },
  { id: 'every-second-sydney', cron: '* * * * * *', timezone: 'Australia/Sydney', everyMs: 1000 },
] as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a cron task in a cluster of three Director processes', () => {
  const cluster = useCluster('cron', REPORTING_SCRIPT);
  const replicas: DirectorProcess[] = [];

  it('runs each instant exactly once across the replicas', async () => {
    const env = { DIRECTOR_EXECUTORS: '1', DIRECTOR_SHUTDOWN_GRACE_MS: '2000' };
    replicas.push(...(await Promise.all([0, 1, 2].map(() => cluster.startReplica({ env, timeoutMs: 30_000 })))).map((r) => r.process));
    const { assets, db } = cluster;
    const base = Math.ceil((Date.now() + 1500) / 1000) * 1000;
    for (const [k, task] of TASKS.entries()) {
      const body = { id: task.id, script: assets.scriptUrl(task.id), running: true, cron: task.cron, timezone: task.timezone, init: base, config: { ranUrl: assets.ranUrl(task.id) } };
      // Written on different replicas: each write reaches the others through the change feed.
      const response = await fetch(`${replicas[k % 3]!.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(response.status, 200, await response.text());
    }
    assert.ok(Date.now() < base, 'the tasks were created before their first instant');

    await sleep(base + RUN_MS - Date.now());
    const stoppedAt = Date.now();
    for (const replica of replicas) replica.kill('SIGTERM');
    for (const replica of replicas) assert.equal(await within(replica.exited, 20_000, 'a clean exit'), 0, replica.output().slice(-3000));

    const rows = await scheduledRuns(db);
    const byKey = new Map<string, RunRow[]>();
    for (const row of rows) byKey.set(`${row.task_id}@${row.slot_ms}`, [...(byKey.get(`${row.task_id}@${row.slot_ms}`) ?? []), row]);

    // Every slot is an instant of its cron, and none has two rows (the claim is unique, skipped or not).
    assert.deepEqual([...byKey].filter(([, list]) => list.length > 1).map(([key]) => key), [], 'an instant has two runs');
    for (const row of rows) {
      const task = TASKS.find((t) => t.id === row.task_id);
      assert.ok(task && row.slot_ms >= base && row.slot_ms % task.everyMs === 0, `${row.task_id}@${row.slot_ms - base} is no instant of its cron`);
    }
    // Every instant from the warm-up to shortly before the stop ran once: a row, and it succeeded.
    const notRun: string[] = [];
    for (const task of TASKS) {
      for (let slot = base + WARM_UP_MS; slot < stoppedAt - 1000; slot += 1000) {
        if (slot % task.everyMs !== 0) continue;
        const list = byKey.get(`${task.id}@${slot}`);
        if (list?.[0]?.status !== 'succeeded') notRun.push(`${task.id}@${slot - base}: ${list?.[0]?.status ?? 'no row'}`);
      }
    }
    assert.deepEqual(notRun, [], 'instants that did not run once');
    // The scripts ran once per instant, never more, as they report it themselves (a fetch is no longer a
    // run: scripts are fetched a second ahead, also for instants that the stop then cancelled).
    const executions = executionsBySlot(assets.ran);
    assert.deepEqual([...executions].filter(([, n]) => n > 1), [], 'an instant\'s script ran twice');
    const unreported = rows.filter((r) => r.status === 'succeeded' && !executions.has(`${r.task_id}@${r.slot_ms}`));
    assert.deepEqual(unreported.map((r) => `${r.task_id}@${r.slot_ms}`), [], 'a succeeded run whose script never ran');
    const owners = new Set(rows.filter((r) => r.status === 'succeeded').map((r) => r.owner));
    process.stdout.write(`# ${rows.length} cron runs over ${owners.size} replicas\n`);
  });
});
