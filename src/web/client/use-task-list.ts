// All tasks, fetched once (10,000 tasks are about 2 MB of JSON) and kept current by live events.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, taskPath } from './api-client.js';
import { useApp, useLive } from './app-context.js';
import type { TaskDoc } from './task-fields.js';

export interface TaskList {
  /** Null until the first load. */
  readonly tasks: ReadonlyMap<string, TaskDoc> | null;
  readonly error: string | null;
  reload(): void;
}

/** Past this many changed tasks in one batch, reading the whole list is cheaper than one GET each. */
const RELOAD_OVER = 50;
const BATCH_MS = 250;

export function useTaskList(): TaskList {
  const { api, session } = useApp();
  const [tasks, setTasks] = useState<ReadonlyMap<string, TaskDoc> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const pending = useRef(new Map<string, string>());
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const loading = useRef(0);

  const reload = useCallback(() => {
    const ticket = ++loading.current;
    api.get<TaskDoc[]>('/api/v1/tasks').then(
      (list) => {
        if (ticket !== loading.current) return;
        setTasks(new Map(list.map((doc) => [String(doc.id), doc])));
        setError(null);
      },
      (e: unknown) => {
        if (ticket === loading.current) setError(e instanceof Error ? e.message : String(e));
      },
    );
  }, [api]);

  useEffect(reload, [reload, session]);

  // Changes are batched: a script creating 1,000 tasks must not cost 1,000 renders of the table.
  const flush = useCallback(async () => {
    timer.current = undefined;
    const batch = new Map(pending.current);
    pending.current.clear();
    if (batch.size > RELOAD_OVER) return reload();
    const updates = await Promise.all([...batch].map(async ([id, change]): Promise<[string, TaskDoc | null]> => {
      if (change === 'deleted' || change === 'ended') return [id, null];
      try {
        return [id, await api.get<TaskDoc>(taskPath(id))];
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return [id, null];
        throw e;
      }
    })).catch(() => undefined);
    if (!updates) return reload();
    setTasks((current) => {
      if (!current) return current;
      const next = new Map(current);
      for (const [id, doc] of updates) {
        if (doc) next.set(id, doc);
        else next.delete(id);
      }
      return next;
    });
  }, [api, reload]);

  useLive((event) => {
    if (event.type !== 'task:changed') return;
    pending.current.set(event.data.id, event.data.change);
    timer.current ??= setTimeout(() => void flush(), BATCH_MS);
  });

  useEffect(() => () => clearTimeout(timer.current), []);
  return { tasks, error, reload };
}
