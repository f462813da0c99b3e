// A backfill of 1,000 slots on three real Director processes sharing PostgreSQL, one of them SIGKILLed
// while it runs some of the slots: the backfill completes with exactly one succeeded run per slot.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executionsBySlot, REPORTING_SCRIPT } from '../bench/support/fetch-recorder.js';
import { useCluster } from './support/cluster-harness.js';
import type { DirectorProcess } from './support/director-process.js';
import { eventually, within } from './support/wait.js';

const SLOTS = 1000;
const MINUTE = 60_000;
const TASK = 'recompute';

interface BackfillRunRow {
  readonly slot_ms: string;
  readonly attempt: number;
  readonly status: string;
  readonly owner: string;
}

describe('a backfill in a cluster of three Director processes', () => {
  const cluster = useCluster('backfill', REPORTING_SCRIPT);

  it('runs each of 1,000 slots once, although a replica is killed in the middle', async () => {
    const env = { DIRECTOR_EXECUTORS: '1', DIRECTOR_SHUTDOWN_GRACE_MS: '2000' };
    const started = await Promise.all([0, 1, 2].map(() => cluster.startReplica({ env, timeoutMs: 30_000 })));
    const replicas: DirectorProcess[] = started.map((r) => r.process);
    const { assets, db } = cluster;
    const init = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * SLOTS * MINUTE;
    // Stopped: only the backfill runs it, so every run row of a slot is the backfill's.
    const task = { id: TASK, script: assets.scriptUrl(TASK), running: false, init, interval: MINUTE, config: { ranUrl: assets.ranUrl(TASK) } };
    const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post(`${replicas[0]!.url}/api/v1/tasks`, task)).status, 200);
    // Asked of the victim, which starts on it at once (the others find it at their next poll).
    const victim = started[2]!;
    const began = Date.now();
    const created = await post(`${victim.process.url}/api/v1/tasks/${TASK}/backfills`, { from: init, to: init + SLOTS * MINUTE, concurrency: 8 });
    const answered = await created.text();
    assert.equal(created.status, 201, answered);
    const backfill = JSON.parse(answered) as { id: number; slots: number };
    assert.equal(backfill.slots, SLOTS);

    // Killed while it holds running runs of the backfill, a third of the way in.
    const runningOf = async (owner: string) => (await db.query<{ n: string }>("SELECT count(*) AS n FROM runs WHERE backfill_id = $1 AND owner = $2 AND status = 'running'", [backfill.id, owner]))[0]?.n;
    await eventually(async () => {
      const done = (await db.query<{ n: string }>("SELECT count(*) AS n FROM runs WHERE backfill_id = $1 AND status <> 'running'", [backfill.id]))[0]?.n;
      return Number(done) >= SLOTS / 3 && Number(await runningOf(victim.id)) > 0;
    }, 60_000, 'the victim running backfill runs a third of the way in', 5);
    victim.process.kill('SIGKILL');
    await within(victim.process.exited, 10_000, 'the victim to die');
    const killedAt = Date.now();

    const survivor = replicas[0]!;
    const done = await eventually(async () => {
      const b = (await (await fetch(`${survivor.url}/api/v1/backfills/${backfill.id}`)).json()) as { status: string; counts: Record<string, number> };
      return b.status === 'completed' ? b : undefined;
    }, 120_000, 'the backfill to complete', 100);
    const tookMs = Date.now() - began;
    assert.deepEqual(done.counts, { pending: 0, running: 0, succeeded: SLOTS, failed: 0, timed_out: 0, skipped: 0, lost: 0 });

    const rows = await db.query<BackfillRunRow>('SELECT slot_ms, attempt, status, owner FROM runs WHERE backfill_id = $1 ORDER BY slot_ms, attempt', [backfill.id]);
    const bySlot = new Map<number, BackfillRunRow[]>();
    for (const row of rows) bySlot.set(Number(row.slot_ms), [...(bySlot.get(Number(row.slot_ms)) ?? []), row]);
    const expected = Array.from({ length: SLOTS }, (_, k) => init + k * MINUTE);
    assert.deepEqual([...bySlot.keys()], expected, 'a row for every slot of the range, and none outside it');
    const notOnce = expected.filter((slot) => bySlot.get(slot)!.filter((r) => r.status === 'succeeded').length !== 1);
    assert.deepEqual(notOnce, [], 'slots without exactly one succeeded run');
    // Attempts before the succeeded one are the victim's runs that died with it.
    const lost = rows.filter((r) => r.status !== 'succeeded');
    assert.ok(lost.length > 0, 'the victim held runs when it was killed');
    assert.deepEqual(lost.filter((r) => r.owner !== victim.id || r.status !== 'lost'), [], 'only the victim\'s runs were lost');
    for (const slot of expected) {
      const list = bySlot.get(slot)!;
      assert.equal(list[list.length - 1]!.status, 'succeeded', `slot ${slot}: the last attempt succeeded`);
    }

    // From the scripts' own reports: every slot ran, and only a slot lost mid-run may have run twice.
    const executions = executionsBySlot(assets.ran);
    const lostSlots = new Set(lost.map((r) => `${TASK}@${Number(r.slot_ms)}`));
    assert.deepEqual(expected.filter((slot) => !executions.has(`${TASK}@${slot}`)), [], 'slots whose script never ran');
    assert.deepEqual([...executions].filter(([key, n]) => n > 1 && !lostSlots.has(key)), [], 'a slot not lost ran twice');
    const owners = new Set(rows.filter((r) => r.status === 'succeeded').map((r) => r.owner));
    process.stdout.write(`# backfill of ${SLOTS} slots: ${tookMs} ms, ${lost.length} runs lost with the victim and run again, finished ${Date.now() - killedAt} ms after the kill, ${owners.size} replicas ran slots\n`);

    for (const replica of replicas.slice(0, 2)) replica.kill('SIGTERM');
    for (const replica of replicas.slice(0, 2)) assert.equal(await within(replica.exited, 20_000, 'a clean exit'), 0, replica.output().slice(-3000));
  });
});
