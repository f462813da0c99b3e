// The lease keeper: leases renewed once per third of a lease; in cluster mode, runs of ended sessions
// looked for much more often, and announced as lost with why.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunRecord } from '../domain/run.js';
import { DirectorEvents } from '../lib/events.js';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { createLogger } from '../lib/logger.js';
import { createLeaseKeeper } from './lease-keeper.js';

const T0 = Date.UTC(2030, 0, 1);

function fakeStore() {
  const calls: string[] = [];
  let lost: RunRecord[] = [];
  return {
    calls,
    loseNext(runs: RunRecord[]) {
      lost = runs;
    },
    store: {
      async renewLeases() {
        calls.push('renew');
        return 0;
      },
      async expireLeases() {
        calls.push('expire');
        const found = lost;
        lost = [];
        return found;
      },
    },
  };
}

const lostRun = { id: 7, taskId: 't', slot: T0, owner: 'dead', status: 'lost', error: { stage: 'executor', name: 'SessionEnded', message: 'gone' } } as unknown as RunRecord;

describe('lease keeper', () => {
  it('without a sweep period renews and expires every third of a lease', async () => {
    const clock = new FakeClock(T0);
    const fake = fakeStore();
    const keeper = createLeaseKeeper({ config: { leaseMs: 30_000, instanceId: 'me' }, store: fake.store, held: { ids: () => [1], release: () => undefined }, clock, events: new DirectorEvents(), logger: createLogger('silent') });
    keeper.start();
    await clock.advance(30_000);
    await keeper.stop();
    assert.deepEqual(fake.calls, ['renew', 'expire', 'renew', 'expire', 'renew', 'expire']);
  });

  it('in cluster mode looks for ended sessions every sweep and still renews once per third of a lease', async () => {
    const clock = new FakeClock(T0);
    const fake = fakeStore();
    const events = new DirectorEvents();
    const keeper = createLeaseKeeper({ config: { leaseMs: 30_000, instanceId: 'me' }, store: fake.store, held: { ids: () => [1], release: () => undefined }, clock, events, logger: createLogger('silent'), sweepMs: 500 });
    keeper.start();
    await clock.advance(10_000);
    const announced = events.next('run:finished');
    fake.loseNext([lostRun]);
    await clock.advance(500);
    assert.equal((await announced).id, 7);
    await keeper.stop();
    assert.equal(fake.calls.filter((c) => c === 'expire').length, 21);
    assert.equal(fake.calls.filter((c) => c === 'renew').length, 2, 'renewed at the first tick and 10 s later');
  });

  it('renews exactly the runs held, and lets a run declared lost go', async () => {
    const clock = new FakeClock(T0);
    const renewed: number[][] = [];
    const released: number[] = [];
    const store = {
      async renewLeases(_owner: string, _untilMs: number, runIds: readonly number[]) {
        renewed.push([...runIds]);
        return runIds.length;
      },
      async expireLeases() {
        return [lostRun];
      },
    };
    const held = { ids: () => [3, 7], release: (id: number) => void released.push(id) };
    const keeper = createLeaseKeeper({ config: { leaseMs: 30_000, instanceId: 'me' }, store, held, clock, events: new DirectorEvents(), logger: createLogger('silent') });
    await keeper.tick();
    assert.deepEqual(renewed, [[3, 7]]);
    assert.deepEqual(released, [7]);
  });
});
