// One replica loses the database (its role may not log in, its sessions are terminated) while another
// keeps it: the cut-off one stops claiming and says so in /ready and its logs, nothing runs twice, no
// slot goes missing, and once the database takes it back it reconnects and takes its share again.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { executionsBySlot, REPORTING_SCRIPT, startFetchRecorder, type FetchRecorder } from '../bench/support/fetch-recorder.js';
import { createClusterDatabase, onServer, scheduledRuns, slotsBetween, terminateSessions, type ClusterDatabase, CLUSTER_TEST_POLICY } from './support/cluster-db.js';
import { startDirectorProcess, type DirectorProcess } from './support/director-process.js';
import { eventually, within } from './support/wait.js';

const TASKS = 200;
const INTERVAL_MS = 1000;
const LEASE_MS = 3000;
const OUTAGE_MS = 5000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a replica that loses its database connection', () => {
  let db: ClusterDatabase;
  let assets: FetchRecorder;
  const suffix = randomBytes(3).toString('hex');
  const role = `director_outage_${suffix}`;
  const ids = { cut: `cut-${suffix}`, steady: `steady-${suffix}` };
  const replicas: DirectorProcess[] = [];

  before(async () => {
    db = await createClusterDatabase('outage');
    assets = await startFetchRecorder(REPORTING_SCRIPT);
    // A role of its own, so that only this replica can be refused by the server.
    await db.query(`CREATE ROLE ${role} LOGIN`);
  });

  after(async () => {
    for (const replica of replicas) if (replica.child.exitCode === null && replica.child.signalCode === null) replica.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await assets.close();
    await db.drop();
    // After the database: the role's privileges there went with it, so nothing holds the role back.
    await onServer(`DROP ROLE IF EXISTS ${role}`);
  });

  it('stops claiming, reports it, recovers, and no slot is lost or run twice', async () => {
    const common = { DIRECTOR_SCRIPT_POLICY: CLUSTER_TEST_POLICY, DIRECTOR_ASSETS_URL: assets.url, DIRECTOR_LEASE_MS: String(LEASE_MS), DIRECTOR_EXECUTORS: '1', DIRECTOR_SHUTDOWN_GRACE_MS: '2000' };
    const steady = await startDirectorProcess({ ...common, DIRECTOR_DATABASE_URL: db.url, DIRECTOR_INSTANCE_ID: ids.steady }, 30_000);
    replicas.push(steady);
    await db.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${role}; GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    const cutUrl = new URL(db.url);
    cutUrl.username = role;
    const cut = await startDirectorProcess({ ...common, DIRECTOR_DATABASE_URL: cutUrl.href, DIRECTOR_INSTANCE_ID: ids.cut }, 30_000);
    replicas.push(cut);

    const base = Math.ceil((Date.now() + 3000) / 1000) * 1000;
    const initOf = (i: number): number => base + Math.floor((i * INTERVAL_MS) / TASKS);
    for (let i = 0; i < TASKS; i += 20) {
      await Promise.all(Array.from({ length: 20 }, async (_, k) => {
        const body = { id: `o${i + k}`, script: assets.scriptUrl(`o${i + k}`), running: true, init: initOf(i + k), interval: INTERVAL_MS, config: { ranUrl: assets.ranUrl(`o${i + k}`) } };
        const response = await fetch(`${(i / 20) % 2 === 0 ? steady.url : cut.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.equal(response.status, 200, await response.text());
      }));
    }

    await sleep(base + 5000 - Date.now());
    const outageAt = Date.now();
    await db.query(`ALTER ROLE ${role} NOLOGIN`);
    await terminateSessions(db, ids.cut);
    const readiness: { status: number; body: string }[] = [];
    while (Date.now() < outageAt + OUTAGE_MS) {
      const answer = await fetch(`${cut.url}/ready`);
      readiness.push({ status: answer.status, body: await answer.text() });
      await sleep(250);
    }
    await db.query(`ALTER ROLE ${role} LOGIN`);
    const restoredAt = Date.now();
    await eventually(async () => (await fetch(`${cut.url}/ready`)).status === 200, 15_000, 'the cut-off replica to be ready again');
    const readyAt = Date.now();
    await sleep(8000);
    const stoppedAt = Date.now();
    for (const replica of replicas) replica.kill('SIGTERM');
    for (const replica of replicas) assert.equal(await within(replica.exited, 20_000, 'a clean exit'), 0, replica.output().slice(-3000));

    // It said so: /ready answered 503 with the reason, and the log says what happens and when it ended.
    const refused = readiness.filter((r) => r.status === 503);
    assert.ok(refused.length > 0, `the cut-off replica stayed ready: ${JSON.stringify(readiness.slice(0, 3))}`);
    assert.ok(refused.some((r) => /not claiming slots: database unreachable since/.test(r.body)), refused[0]?.body);
    assert.equal(cut.output().match(/database unreachable; not claiming slots; retrying in \d+ ms/g)?.length, 1, 'said once, not per slot');
    assert.match(cut.output(), /database reachable again after \d+ ms; claiming slots again/);
    assert.match(cut.output(), /task change notifications restored/);
    assert.ok(readyAt - restoredAt < 10_000);

    const rows = await scheduledRuns(db);
    const byKey = new Map<string, string[]>();
    for (const row of rows) byKey.set(`${row.task_id}@${row.slot_ms}`, [...(byKey.get(`${row.task_id}@${row.slot_ms}`) ?? []), row.status]);
    assert.deepEqual([...byKey].filter(([, statuses]) => statuses.filter((s) => s !== 'skipped').length > 1), [], 'a slot has two runs');
    // An execution without a row (a fenced-off replica running anyway) would show in the scripts' reports.
    assert.deepEqual([...executionsBySlot(assets.ran)].filter(([, n]) => n > 1).slice(0, 10), [], 'a slot\'s script ran twice');

    // Every slot has a row. Outside the outage and the lease that follows it nothing is lost, and
    // (overlap may skip a slot when this shared machine runs late) most slots succeeded.
    const troubled = (slot: number) => slot >= outageAt - INTERVAL_MS && slot < outageAt + LEASE_MS + 2 * INTERVAL_MS;
    const missing: string[] = [];
    const lostOutside: string[] = [];
    let calm = 0;
    let calmOk = 0;
    for (let i = 0; i < TASKS; i++) {
      for (const slot of slotsBetween(initOf(i), INTERVAL_MS, base + 2000, stoppedAt - 2 * INTERVAL_MS)) {
        const statuses = byKey.get(`o${i}@${slot}`);
        if (statuses === undefined) {
          missing.push(`o${i}@${slot - base}`);
          continue;
        }
        if (troubled(slot)) continue;
        calm += 1;
        if (statuses.includes('succeeded')) calmOk += 1;
        if (statuses.includes('lost')) lostOutside.push(`o${i}@${slot - base}`);
      }
    }
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} slots have no run row`);
    assert.deepEqual(lostOutside.slice(0, 20), [], `${lostOutside.length} slots outside the outage were lost`);
    assert.ok(calmOk / Math.max(1, calm) > 0.5, `only ${calmOk} of ${calm} slots outside the outage succeeded`);

    // Meanwhile the steady replica ran everything; afterwards the cut-off one took its share again.
    const during = rows.filter((r) => r.status === 'succeeded' && r.slot_ms >= outageAt + LEASE_MS + 2000 && r.slot_ms < restoredAt);
    assert.ok(during.length > 0 && during.every((r) => r.owner === ids.steady));
    const later = rows.filter((r) => r.status === 'succeeded' && r.slot_ms >= readyAt + 3000 && r.slot_ms < stoppedAt - 2000);
    const share = later.filter((r) => r.owner === ids.cut).length / Math.max(1, later.length);
    assert.ok(share > 0.25, `after recovering, the cut-off replica ran ${(share * 100).toFixed(1)} % of the runs`);
  });
});
