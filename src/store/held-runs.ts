// Remembers which running runs this process holds, so that lease renewal extends those and no others.

import type { RunRecord } from '../domain/run.js';
import type { Store } from './store.js';

/**
 * Renewing "every running run of my owner name" would keep alive rows this process no longer knows
 * of: a claim that committed but whose answer was lost with the connection, or the runs of a crashed
 * predecessor started under the same DIRECTOR_INSTANCE_ID. Those must expire and become `lost`.
 * So every run handed to this process as running is remembered until its end is written, and
 * `renewLeases(owner, until)` without ids renews exactly those.
 */
export function trackHeldRuns(store: Store, owner: string): Store {
  const held = new Set<number>();
  const hold = (run: RunRecord | undefined): void => {
    if (run !== undefined && run.status === 'running' && run.owner === owner) held.add(run.id);
  };
  const overrides: Partial<Store> = {
    async claimSlots(claims) {
      const won = await store.claimSlots(claims);
      for (const run of won) hold(run);
      return won;
    },
    async insertRun(run) {
      const inserted = await store.insertRun(run);
      hold(inserted);
      return inserted;
    },
    // Forgotten only once the store answered: a write that failed is retried, and the run stays leased.
    async finishRun(runId, report) {
      const finished = await store.finishRun(runId, report);
      held.delete(runId);
      return finished;
    },
    async abandonRun(runId, outcome, error, nowMs) {
      const ended = await store.abandonRun(runId, outcome, error, nowMs);
      held.delete(runId);
      return ended;
    },
    async expireLeases(nowMs) {
      const lost = await store.expireLeases(nowMs);
      for (const run of lost) held.delete(run.id);
      return lost;
    },
    renewLeases(who, untilMs, runIds) {
      if (who !== owner || runIds !== undefined) return store.renewLeases(who, untilMs, runIds);
      return store.renewLeases(owner, untilMs, [...held]);
    },
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (typeof property === 'string' && Object.hasOwn(overrides, property)) return overrides[property as keyof Store];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
