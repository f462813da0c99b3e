// A task's backfills, newest first: read on load, every 2 s while one is active (no live event says
// how a backfill moves or that it ended), and updated at once by what a request or a cancel answers.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { taskPath } from './api-client.js';
import { useApp } from './app-context.js';
import { isActiveBackfill, type BackfillView } from './backfill-progress.js';

export const BACKFILL_POLL_MS = 2000;
const PAGE = 20;

export interface Backfills {
  /** Null until the first answer. */
  readonly list: readonly BackfillView[] | null;
  readonly error: string | null;
  readonly more: boolean;
  showMore(): void;
  reload(): Promise<void>;
  /** Puts a backfill the API answered (created, cancelled) in the list without waiting for a read. */
  put(backfill: BackfillView): void;
  /** Asks for the cancel and says how it went; true when the backfill is (being) cancelled. */
  cancel(id: number): Promise<boolean>;
}

const newestFirst = (a: BackfillView, b: BackfillView) => b.id - a.id;

export function useBackfills(taskId: string): Backfills {
  const { api, session, announce } = useApp();
  const [list, setList] = useState<readonly BackfillView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [limit, setLimit] = useState(PAGE);

  const reload = useCallback(async () => {
    try {
      setList(await api.get<BackfillView[]>(taskPath(taskId, `/backfills?limit=${limit}`)));
      setError(null);
    } catch (e) {
      setError(`Could not load the backfills: ${(e as Error).message}`);
    }
  }, [api, taskId, limit]);

  useEffect(() => {
    void reload();
  }, [reload, session]);

  // One read at a time: the next is planned when the last has answered, so a slow server is not piled on.
  const active = list?.some((b) => isActiveBackfill(b.status)) ?? false;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      await reload();
      if (!stopped) timer = setTimeout(tick, BACKFILL_POLL_MS);
    };
    timer = setTimeout(tick, BACKFILL_POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, reload]);

  const put = useCallback((backfill: BackfillView) => {
    setList((current) => [backfill, ...(current ?? []).filter((b) => b.id !== backfill.id)].sort(newestFirst));
  }, []);

  const cancel = async (id: number): Promise<boolean> => {
    try {
      const cancelled = await api.request<BackfillView>('POST', `/api/v1/backfills/${id}/cancel`);
      put(cancelled);
      announce(cancelled.status === 'cancelling' ? `Backfill #${id} is cancelling: its runs in flight finish first.` : `Backfill #${id} cancelled.`);
      return true;
    } catch (e) {
      announce(`Could not cancel backfill #${id}: ${(e as Error).message}`, 'error');
      void reload();
      return false;
    }
  };

  return { list, error, more: (list?.length ?? 0) >= limit, showMore: () => setLimit((n) => n + PAGE), reload, put, cancel };
}
