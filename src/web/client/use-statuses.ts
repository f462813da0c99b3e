// /status of the visible rows only (never of all 10,000 tasks), refreshed when their runs finish.

import { useEffect, useRef, useState } from 'preact/hooks';
import { taskPath } from './api-client.js';
import { useApp, useLive } from './app-context.js';
import type { TaskStatus } from './task-fields.js';

const CONCURRENCY = 6;
const CHECK_MS = 5_000;

export type StatusMap = ReadonlyMap<string, TaskStatus>;

export function useStatuses(ids: readonly string[]): StatusMap {
  const { api, session } = useApp();
  const cache = useRef(new Map<string, TaskStatus>());
  const stale = useRef(new Set<string>());
  const [, setVersion] = useState(0);
  const [refreshTick, setRefreshTick] = useState(0);
  const key = ids.join('\u0000');

  useEffect(() => {
    cache.current.clear();
  }, [session]);

  useEffect(() => {
    let cancelled = false;
    const wanted = ids.filter((id) => !cache.current.has(id) || stale.current.has(id));
    let next = 0;
    async function worker(): Promise<void> {
      while (!cancelled && next < wanted.length) {
        const id = wanted[next++]!;
        stale.current.delete(id);
        try {
          const status = await api.get<TaskStatus>(taskPath(id, '/status'));
          if (cancelled) return;
          cache.current.set(id, status);
          setVersion((v) => v + 1);
        } catch {
          // Deleted meanwhile, or a transient error: the row shows "—" until the next refresh.
        }
      }
    }
    for (let i = 0; i < CONCURRENCY; i++) void worker();
    return () => {
      cancelled = true;
    };
  }, [key, api, session, refreshTick]);

  // Runs announce themselves (run:finished), but a slot can pass without one (skipped, or another
  // replica's run): a row whose next run is in the past is read again. Nothing else is polled, so a
  // dashboard left open stays far below a rate limit.
  useEffect(() => {
    const timer = setInterval(() => {
      let due = false;
      for (const id of ids) {
        const next = cache.current.get(id)?.nextExecution;
        if (next && Number(next) < Date.now() - 2000 && !stale.current.has(id)) {
          stale.current.add(id);
          due = true;
        }
      }
      if (due) setRefreshTick((t) => t + 1);
    }, CHECK_MS);
    return () => clearInterval(timer);
  }, [key]);

  const pendingRefresh = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useLive((event) => {
    const id = event.type === 'task:changed' ? event.data.id : event.data.taskId;
    if (!cache.current.has(id) && !ids.includes(id)) return;
    stale.current.add(id);
    pendingRefresh.current ??= setTimeout(() => {
      pendingRefresh.current = undefined;
      setRefreshTick((t) => t + 1);
    }, 200);
  });

  return cache.current;
}
