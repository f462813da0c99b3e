// Counts failed store operations by name (for /metrics) without touching each caller's error handling.

import type { Store } from '../store/store.js';

/**
 * The store with every operation counted when it fails, and nothing else changed: the caller still
 * gets the rejection. Each member is listed, so a new store operation cannot be forgotten here (the
 * compiler asks for it) and nothing is intercepted that is not written down.
 */
export function countStoreErrors(store: Store, onError: (operation: string) => void): Store {
  function counted<A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args) => call.apply(store, args).catch((error: unknown) => {
      onError(operation);
      throw error;
    });
  }
  return {
    kind: store.kind,
    putTask: counted('putTask', store.putTask),
    getTask: counted('getTask', store.getTask),
    listTasks: counted('listTasks', store.listTasks),
    countTasks: counted('countTasks', store.countTasks),
    deleteTask: counted('deleteTask', store.deleteTask),
    deleteEndedTask: counted('deleteEndedTask', store.deleteEndedTask),
    claimSlots: counted('claimSlots', store.claimSlots),
    insertRun: counted('insertRun', store.insertRun),
    finishRun: counted('finishRun', store.finishRun),
    abandonRun: counted('abandonRun', store.abandonRun),
    renewLeases: counted('renewLeases', store.renewLeases),
    expireLeases: counted('expireLeases', store.expireLeases),
    latestSlots: counted('latestSlots', store.latestSlots),
    runningRuns: counted('runningRuns', store.runningRuns),
    trimRuns: counted('trimRuns', store.trimRuns),
    getRun: counted('getRun', store.getRun),
    listRuns: counted('listRuns', store.listRuns),
    runStats: counted('runStats', store.runStats),
    failuresBefore: counted('failuresBefore', store.failuresBefore),
    createBackfill: counted('createBackfill', store.createBackfill),
    getBackfill: counted('getBackfill', store.getBackfill),
    listBackfills: counted('listBackfills', store.listBackfills),
    activeBackfills: counted('activeBackfills', store.activeBackfills),
    backfillProgress: counted('backfillProgress', store.backfillProgress),
    claimBackfillRuns: counted('claimBackfillRuns', store.claimBackfillRuns),
    endBackfill: counted('endBackfill', store.endBackfill),
    now: counted('now', store.now),
    listTaskVersions: counted('listTaskVersions', store.listTaskVersions),
    // Closing is not an operation that fails at runtime; it is not counted.
    close: () => store.close(),
  };
}
