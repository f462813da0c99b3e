// Replica sessions: a run is lost as soon as its owner's database session ends, and a replica without
// its session claims nothing and records no outcome over another replica's verdict (fencing).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { eventually } from '../../../test/support/wait.js';
import { withClient } from '../../../test/support/scratch-database.js';
import { createLogger } from '../../lib/logger.js';
import { succeeded } from '../store-fixtures.contract.js';
import type { ClusterStore } from '../store.js';
import { openPostgresStore } from './postgres-store.js';

const url = process.env.DIRECTOR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `director_session_${process.pid}_${randomBytes(3).toString('hex')}`;
const suffix = randomBytes(3).toString('hex');
const LEASE_MS = 60_000;
/** A role of its own for the cut-off replica, so that only it can be refused by the server. */
const role = `director_session_${suffix}`;

after(async () => {
  await withClient(url, async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
    await client.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await client.query(`DROP ROLE IF EXISTS ${role}`);
  });
});

/** Ends every connection of one replica (pool and session), as a crash or a network cut would. */
async function cutOff(instanceId: string): Promise<void> {
  const ended = await withClient(url, async (client) =>
    (await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [instanceId])).rowCount);
  assert.ok((ended ?? 0) >= 1, `no session of ${instanceId} was found`);
}

describe('replica sessions (PostgreSQL)', () => {
  const opened: ClusterStore[] = [];
  after(() => Promise.all(opened.map((s) => s.close())));
  async function open(name: string, replicaSession = true, as = url): Promise<ClusterStore> {
    const store = await openPostgresStore({ url: as, schema, instanceId: `${name}-${suffix}`, replicaSession, logger: createLogger('silent') });
    opened.push(store);
    return store;
  }
  const claim = (store: ClusterStore, owner: string, taskId: string, slot: number) =>
    store.claimSlots([{ taskId, slot, owner: `${owner}-${suffix}`, nowMs: Date.now(), leaseMs: LEASE_MS }]);
  const lostIn = async (store: ClusterStore, taskId: string) => (await store.expireLeases(Date.now())).filter((r) => r.taskId === taskId);

  it('declares the runs of a replica whose session ended lost at the next sweep, long before their lease', async () => {
    const [dead, survivor] = [await open('dead'), await open('survivor')];
    const [run] = await claim(dead, 'dead', 'crash', 1000);
    assert.ok(run);
    assert.deepEqual(await lostIn(survivor, 'crash'), [], 'alive: nothing to declare');
    assert.equal((await survivor.runningRuns(['crash'])).length, 1);
    await dead.close(); // its session ends with it, as with a kill -9
    assert.deepEqual((await survivor.runningRuns(['crash'])).length, 0, 'a dead owner\'s run is not going any more');
    const lost = await lostIn(survivor, 'crash');
    assert.deepEqual(lost.map((r) => [r.id, r.status, r.error?.name]), [[run.id, 'lost', 'SessionEnded']]);
    assert.ok((lost[0]?.finishedMs ?? 0) < (run.leaseUntilMs ?? 0) - LEASE_MS / 2);
  });

  it('finds a replica restarted under the same name a new session: the old one\'s runs are still lost', async () => {
    const first = await open('same');
    const [run] = await claim(first, 'same', 'restarted', 1000);
    await first.close();
    const second = await open('same');
    const [mine] = await claim(second, 'same', 'restarted', 2000);
    const lost = await lostIn(second, 'restarted');
    assert.deepEqual(lost.map((r) => r.id), [run?.id]);
    assert.equal((await second.getRun(mine!.id))?.status, 'running');
  });

  it('leaves runs of owners without a session (older replicas, tools) to their lease', async () => {
    const plain = await open('plain', false);
    const watcher = await open('watcher');
    const [run] = await claim(plain, 'plain', 'no-session', 1000);
    assert.deepEqual(await lostIn(watcher, 'no-session'), []);
    assert.equal((await watcher.getRun(run!.id))?.status, 'running');
  });

  it('a cut-off replica claims nothing until its session is back, and its outcome never overwrites "lost"', async () => {
    const other = await open('other');
    await withClient(url, (client) => client.query(`CREATE ROLE ${role} LOGIN; GRANT CREATE ON DATABASE ${client.escapeIdentifier(new URL(url).pathname.slice(1))} TO ${role}; GRANT CREATE, USAGE ON SCHEMA ${schema} TO ${role};
      GRANT ALL ON ALL TABLES IN SCHEMA ${schema} TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`));
    const roleUrl = new URL(url);
    roleUrl.username = role;
    const cut = await open('cut', true, roleUrl.href);
    const [inFlight] = await claim(cut, 'cut', 'fenced', 1000);
    assert.ok(inFlight);
    // Cut off: the server refuses it and ends its sessions, as a partition long enough would.
    await withClient(url, (client) => client.query(`ALTER ROLE ${role} NOLOGIN`));
    await cutOff(`cut-${suffix}`);
    await eventually(() => cut.sessionDownReason() !== undefined, 5000, 'the replica to notice its session ended');
    assert.match(cut.sessionDownReason() ?? '', /database session lost since/);
    assert.deepEqual(await claim(cut, 'cut', 'fenced', 2000), [], 'no claim without a session');
    assert.equal(await cut.insertRun({ taskId: 'fenced', slot: null, attempt: 1, trigger: 'manual', owner: `cut-${suffix}`, nowMs: Date.now(), leaseMs: LEASE_MS }), undefined);
    assert.deepEqual((await lostIn(other, 'fenced')).map((r) => r.id), [inFlight.id]);
    // Its session comes back (the server lets it in again); the slot it lost stays lost.
    await withClient(url, (client) => client.query(`ALTER ROLE ${role} LOGIN`));
    await eventually(() => cut.sessionDownReason() === undefined, 10_000, 'the session to be back');
    const report = succeeded(Date.now(), 5);
    let written: unknown = 'not tried';
    for (let attempt = 0; attempt < 3 && written === 'not tried'; attempt++) written = await cut.finishRun(inFlight.id, report).catch(() => 'not tried');
    assert.equal(written, undefined, 'the outcome of a run declared lost is not recorded');
    assert.equal((await other.getRun(inFlight.id))?.status, 'lost');
    const [later] = await claim(cut, 'cut', 'fenced', 3000);
    assert.ok(later, 'claims again once its session is back');
  });

  it('writes outcomes only for its own runs', async () => {
    const mine = await open('owner');
    const [theirs] = await claim(mine, 'someone-else', 'owned', 1000);
    assert.equal(await mine.finishRun(theirs!.id, succeeded(Date.now(), 5)), undefined);
    assert.equal(await mine.abandonRun(theirs!.id, 'failed', { stage: 'shutdown', name: 'ShutdownError', message: 'x' }, Date.now()), undefined);
    const [own] = await claim(mine, 'owner', 'owned', 2000);
    assert.equal((await mine.finishRun(own!.id, succeeded(Date.now(), 5)))?.status, 'succeeded');
  });
});
