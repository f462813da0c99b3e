// Rendezvous preference: even spread over replicas, and only a dead replica's share moves.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../lib/testing/fake-clock.js';
import { createLogger } from '../lib/logger.js';
import { createClaimSharing, preferredReplica } from './claim-sharing.js';

const ids = Array.from({ length: 10_000 }, (_, i) => `task-${i}`);

describe('claim sharing', () => {
  it('spreads tasks evenly over three replicas with similar names', () => {
    const replicas = ['director-1', 'director-2', 'director-3'];
    const counts = new Map<string, number>();
    for (const id of ids) {
      const owner = preferredReplica(replicas, id) as string;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const replica of replicas) {
      const share = (counts.get(replica) ?? 0) / ids.length;
      assert.ok(share > 0.3 && share < 0.37, `${replica} is preferred for ${(share * 100).toFixed(1)} % of the tasks`);
    }
  });

  it('moves only the tasks of a replica that left, and every replica computes the same answer', () => {
    const before = ['a', 'b', 'c'];
    const after = ['a', 'c'];
    for (const id of ids) {
      const was = preferredReplica(before, id);
      const now = preferredReplica(after, id);
      if (was !== 'b') assert.equal(now, was, `task ${id} moved from ${was} to ${now}`);
      assert.equal(preferredReplica([...before].reverse(), id), was);
    }
  });

  it('prefers everything before the replicas are known, nothing while this one is not live', async () => {
    let live: string[] = [];
    const sharing = createClaimSharing({ store: { liveReplicas: async () => live }, instanceId: 'me', clock: new FakeClock(), logger: createLogger('silent') });
    await sharing.start();
    assert.ok(ids.slice(0, 100).every((id) => sharing.prefers(id)));
    live = ['other', 'third'];
    sharing.stop();
    await sharing.start();
    assert.ok(ids.slice(0, 100).every((id) => !sharing.prefers(id)));
    live = ['me', 'other'];
    sharing.stop();
    await sharing.start();
    const mine = ids.filter((id) => sharing.prefers(id)).length;
    assert.ok(mine > 4500 && mine < 5500, `${mine} of ${ids.length}`);
    sharing.stop();
  });
});
