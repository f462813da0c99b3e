// Task writes of other replicas re-plan this one: notifications for immediacy, a full re-read after reconnects.

import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ClusterStore, TaskChangeNotice } from '../store/store.js';

export interface ChangeFeedDeps {
  readonly store: Pick<ClusterStore, 'watchTaskChanges'>;
  readonly scheduler: Pick<Scheduler, 'taskChanged' | 'reconcile'>;
  readonly events: DirectorEvents;
  readonly logger: Logger;
  /** Another replica stopped claiming: read the live replicas again now. */
  readonly replicasChanged?: () => void;
}

/**
 * More notices than this in one turn of the event loop (an import of thousands of tasks through
 * another replica) are one full re-read instead of that many single reads.
 */
const BULK = 200;

type TaskNotice = Extract<TaskChangeNotice, { kind: 'task' }>;

/**
 * Re-plans are coalesced per event-loop turn, and full re-reads never overlap: one requested while
 * another runs is done once after it. The dashboard's live stream hears of remote writes too.
 */
export async function startChangeFeed(deps: ChangeFeedDeps): Promise<() => Promise<void>> {
  const { scheduler, events, logger } = deps;
  const pending = new Map<string, TaskNotice>();
  const work = new Set<Promise<void>>();
  let flushing = false;
  let rereading: Promise<void> | undefined;
  let rereadAgain = false;
  let stopped = false;

  function track(promise: Promise<void>): void {
    work.add(promise);
    void promise.finally(() => work.delete(promise));
  }

  function reread(): void {
    if (rereading !== undefined) {
      rereadAgain = true;
      return;
    }
    rereading = scheduler.reconcile().catch((error: unknown) => {
      logger.warn({ err: error }, 're-reading tasks after a notification failed; the periodic re-read will catch up');
    }).finally(() => {
      rereading = undefined;
      if (rereadAgain && !stopped) {
        rereadAgain = false;
        reread();
      }
    });
    track(rereading);
  }

  function flush(): void {
    flushing = false;
    if (stopped) return;
    const notices = [...pending.values()];
    pending.clear();
    if (notices.length > BULK) {
      reread();
      for (const notice of notices) events.emit('task:changed', { id: notice.id, change: notice.change });
      return;
    }
    for (const notice of notices) {
      track(scheduler.taskChanged(notice.id).then(
        () => events.emit('task:changed', { id: notice.id, change: notice.change }),
        (error: unknown) => logger.warn({ err: error, taskId: notice.id }, 're-planning a task changed by another replica failed; the periodic re-read will catch up'),
      ));
    }
  }

  const unwatch = await deps.store.watchTaskChanges((notice) => {
    if (stopped) return;
    if (notice.kind === 'replicas') {
      deps.replicasChanged?.();
      return;
    }
    if (notice.kind === 'all') {
      reread();
      return;
    }
    pending.set(notice.id, notice);
    if (flushing) return;
    flushing = true;
    setImmediate(flush);
  });

  return async () => {
    stopped = true;
    await unwatch();
    while (work.size > 0) await Promise.all(work);
  };
}
