// Three real Director processes on one PostgreSQL database: one run per slot, a SIGKILLed replica's runs
// become lost and its share moves to the others, work is spread; and replicas racing on migrations.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { executionsBySlot, REPORTING_SCRIPT } from '../bench/support/fetch-recorder.js';
import { createClusterDatabase, scheduledRuns, slotsBetween, type ClusterDatabase, type RunRow } from './support/cluster-db.js';
import { startDirectorProcess, type DirectorProcess } from './support/director-process.js';
import { within } from './support/wait.js';
import { useCluster } from './support/cluster-harness.js';

const TASKS = 500;
const INTERVAL_MS = 1000;
const RUN_MS = 30_000;
const KILL_AT_MS = 15_000;
const LEASE_MS = 3000;
/** Start-up of executors and JIT: the first slots may run late enough to be skipped by overlap. */
const WARM_UP_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function post(base: string, body: unknown): Promise<number> {
  const response = await fetch(`${base}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

/** Follows a replica's live event stream; resolves `next(id)` when that task's change arrives there. */
async function followChanges(base: string) {
  const response = await fetch(`${base}/api/v1/events`);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const waiting = new Map<string, () => void>();
  let buffer = '';
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^event: task:changed\ndata: (.*)$/m.exec(event)?.[1];
        if (data !== undefined) waiting.get((JSON.parse(data) as { id: string }).id)?.();
      }
    }
  })();
  return {
    next: (id: string) => new Promise<void>((resolve) => waiting.set(id, resolve)),
    close: () => reader.cancel(),
  };
}

/** Runs `count` calls with at most `concurrency` in flight. */
async function inParallel(count: number, concurrency: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await call(next++);
  }));
}

describe('a cluster of three Director processes', () => {
  // The benchmark's raw TCP recorder: 500 fetches a second must cost the test process little.
  const cluster = useCluster('cluster', REPORTING_SCRIPT);
  const replicas: DirectorProcess[] = [];
  const ids = [0, 1, 2].map((k) => `replica-${k}-${cluster.suffix}`);

  it('re-plans a task written on one replica on another within a fraction of a second', async () => {
    const { assets } = cluster;
    // One executor each (trusted runs share its event loop): two per replica put nine busy processes on two
    // cores, and the victim's queue then held runs more than 2 s behind their slot at the kill.
    const env = { DIRECTOR_LEASE_MS: String(LEASE_MS), DIRECTOR_EXECUTORS: '1', DIRECTOR_SHUTDOWN_GRACE_MS: '2000' };
    const started = await Promise.all(ids.map((id) => cluster.startReplica({ id, env, timeoutMs: 30_000 })));
    replicas.push(...started.map((r) => r.process));
    const [writer, reader] = replicas as [DirectorProcess, DirectorProcess];
    const changes = await followChanges(reader.url);
    const delays: number[] = [];
    try {
      for (let k = 0; k < 20; k++) {
        // A far interval: planned on every replica, never run during the test.
        const body = { id: `probe-${k}`, script: assets.scriptUrl(`probe-${k}`), running: true, interval: 3_600_000 };
        const seen = changes.next(body.id);
        const sentAt = performance.now();
        assert.equal(await post(writer.url, body), 200);
        await within(seen, 5000, `the change of ${body.id} on the other replica`);
        delays.push(performance.now() - sentAt);
      }
    } finally {
      await changes.close();
    }
    delays.sort((a, b) => a - b);
    process.stdout.write(`# propagation write → re-planned on another replica: median ${delays[10]!.toFixed(1)} ms, max ${delays.at(-1)!.toFixed(1)} ms\n`);
    assert.ok(delays.every((ms) => ms < 1000), `propagation took ${delays.map((d) => d.toFixed(0)).join(', ')} ms`);
  });

  it('runs each slot once, declares the killed replica\'s runs lost, keeps every later slot, and spreads the work', async () => {
    const { assets, db } = cluster;
    assert.equal(replicas.length, 3, 'the replicas started');
    const [first, , victim] = replicas as [DirectorProcess, DirectorProcess, DirectorProcess];
    // Slots spread over the second (2 ms apart), starting on a whole second shortly after creation.
    const base = Math.ceil((Date.now() + 3000) / 1000) * 1000;
    const initOf = (i: number): number => base + Math.floor((i * INTERVAL_MS) / TASKS);
    await inParallel(TASKS, 8, async (i) => {
      const script = assets.scriptUrl(`t${i}`);
      assert.equal(await post(first.url, { id: `t${i}`, script, running: true, init: initOf(i), interval: INTERVAL_MS, config: { ranUrl: assets.ranUrl(`t${i}`) } }), 200);
    });
    assert.ok(Date.now() < base, 'the tasks were created before their first slot');

    await sleep(base + KILL_AT_MS - Date.now());
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await sleep(base + RUN_MS - Date.now());
    const stoppedAt = Date.now();
    for (const replica of replicas.slice(0, 2)) replica.kill('SIGTERM');
    for (const replica of replicas.slice(0, 2)) assert.equal(await within(replica.exited, 20_000, 'a clean exit'), 0, replica.output().slice(-3000));

    const rows = await scheduledRuns(db);
    const byKey = new Map<string, RunRow[]>();
    for (const row of rows) byKey.set(`${row.task_id}@${row.slot_ms}`, [...(byKey.get(`${row.task_id}@${row.slot_ms}`) ?? []), row]);

    // 1. No slot ran twice: no two run rows that are not skipped, and no script reported two executions
    //    of one slot (an execution without a row would show there). Every succeeded run did execute.
    const doubleRows = [...byKey].filter(([, list]) => list.filter((r) => r.status !== 'skipped').length > 1);
    assert.deepEqual(doubleRows, [], 'a slot has two runs');
    const executions = executionsBySlot(assets.ran);
    assert.deepEqual([...executions].filter(([, n]) => n > 1).slice(0, 10), [], 'a slot\'s script ran twice');
    const unreported = rows.filter((r) => r.status === 'succeeded' && !executions.has(`${r.task_id}@${r.slot_ms}`));
    assert.deepEqual(unreported.slice(0, 10), [], 'a succeeded run whose script never ran');

    // 2. Every slot has a row (none silently missing). The killed replica's in-flight runs are lost;
    //    from kill + lease on, nothing is lost or skipped on its account any more. Slots may be skipped
    //    by overlap when this shared 2-core machine runs late (a previous run still going): that is
    //    the overlap policy at work, so only the share of succeeded slots is bounded, not each one.
    const windowEnd = stoppedAt - 2 * INTERVAL_MS; // the last slots may be cut by the shutdown
    const settled = killedAt + LEASE_MS + 2 * INTERVAL_MS;
    const missing: string[] = [];
    const blockedByDead: string[] = [];
    const counts = { before: 0, beforeOk: 0, after: 0, afterOk: 0 };
    for (let i = 0; i < TASKS; i++) {
      for (const slot of slotsBetween(initOf(i), INTERVAL_MS, base, windowEnd)) {
        const list = byKey.get(`t${i}@${slot}`);
        if (list === undefined) {
          missing.push(`t${i}@${slot - base}`);
          continue;
        }
        const ok = list.some((r) => r.status === 'succeeded');
        if (slot >= base + WARM_UP_MS && slot < killedAt - INTERVAL_MS) {
          counts.before += 1;
          if (ok) counts.beforeOk += 1;
        } else if (slot >= settled) {
          counts.after += 1;
          if (ok) counts.afterOk += 1;
          if (list.some((r) => r.status === 'lost' || (r.reason ?? '').includes(ids[2] as string))) blockedByDead.push(`t${i}@${slot - base}`);
        }
      }
    }
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} slots have no run row`);
    assert.deepEqual(blockedByDead.slice(0, 20), [], `${blockedByDead.length} slots after kill + lease were lost or skipped because of the killed replica`);
    const lost = rows.filter((r) => r.status === 'lost');
    assert.ok(lost.length > 0, 'the killed replica had runs in flight');
    assert.deepEqual([...new Set(lost.map((r) => r.owner))], [ids[2]], 'only the killed replica\'s runs are lost');
    assert.ok(lost.every((r) => r.slot_ms >= killedAt - 2 * INTERVAL_MS && r.slot_ms <= killedAt + INTERVAL_MS), 'lost runs are the ones in flight at the kill');
    assert.equal(rows.filter((r) => r.status === 'running').length, 0, 'no run is left running');
    const okBefore = counts.beforeOk / Math.max(1, counts.before);
    const okAfter = counts.afterOk / Math.max(1, counts.after);
    process.stdout.write(`# succeeded: ${(okBefore * 100).toFixed(1)} % of ${counts.before} slots before the kill, ${(okAfter * 100).toFixed(1)} % of ${counts.after} after kill + lease\n`);
    // Measured: 100 % on an idle machine, down to ~75 % before the kill when another job loads this one.
    assert.ok(okBefore > 0.5 && okAfter > 0.5, 'most slots succeeded');

    // 3. The work was spread: before the kill over all three, after it over the two survivors.
    const share = (from: number, to: number) => {
      const counts = new Map<string, number>();
      const inWindow = rows.filter((r) => r.status === 'succeeded' && r.slot_ms >= from && r.slot_ms < to);
      for (const row of inWindow) counts.set(row.owner, (counts.get(row.owner) ?? 0) + 1);
      return new Map([...counts].map(([owner, n]) => [owner, n / inWindow.length]));
    };
    const before = share(base + WARM_UP_MS, killedAt - INTERVAL_MS);
    const afterKill = share(settled, windowEnd);
    for (const id of ids) assert.ok((before.get(id) ?? 0) >= 0.2, `before the kill ${id} ran ${((before.get(id) ?? 0) * 100).toFixed(1)} %`);
    for (const id of ids.slice(0, 2)) assert.ok((afterKill.get(id) ?? 0) >= 0.3, `after the kill ${id} ran ${((afterKill.get(id) ?? 0) * 100).toFixed(1)} %`);
    const mine = (id: string) => rows.filter((r) => r.owner === id && r.status === 'succeeded').length;
    process.stdout.write(`# cluster: ${rows.length} runs, ${lost.length} lost, per replica ${ids.map(mine).join(' / ')}\n`);
  });
});

describe('replicas starting together on an empty database', () => {
  let db: ClusterDatabase;
  const started: DirectorProcess[] = [];
  before(async () => {
    db = await createClusterDatabase('migrate');
  });
  after(async () => {
    for (const replica of started) if (replica.child.exitCode === null && replica.child.signalCode === null) replica.kill('SIGKILL');
    await Promise.all(started.map((r) => r.exited));
    await db.drop();
  });

  it('both start, and every migration is applied once', async () => {
    const suffix = randomBytes(3).toString('hex');
    started.push(...await Promise.all(['a', 'b'].map((k) => startDirectorProcess({ DIRECTOR_DATABASE_URL: db.url, DIRECTOR_INSTANCE_ID: `migrate-${k}-${suffix}` }, 30_000))));
    for (const replica of started) assert.equal((await fetch(`${replica.url}/ready`)).status, 200, replica.output());
    const versions = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.ok(versions.length >= 1);
    assert.equal(new Set(versions.map((v) => v.version)).size, versions.length);
    const applied = started.filter((r) => /PostgreSQL migrations applied/.test(r.output()));
    assert.equal(applied.length, 1, 'one replica applied the migrations, the other found them done');
    for (const replica of started) replica.kill('SIGTERM');
    for (const replica of started) assert.equal(await within(replica.exited, 20_000, 'a clean exit'), 0);
  });
});
