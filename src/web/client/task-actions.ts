// The actions on one task (start/stop, run now, delete), with what each tells the user.

import { ApiError, taskPath } from './api-client.js';
import { useApp } from './app-context.js';
import type { RunView } from './task-fields.js';

/** What /run answered: the script's result, or the failure with its stage and logs. */
export type RunOutcome =
  | { readonly ok: true; readonly result: unknown; readonly run: RunView | undefined }
  | { readonly ok: false; readonly message: string; readonly stage: string | undefined; readonly logs: string; readonly runId: number | undefined };

export function useTaskActions() {
  const { api, announce } = useApp();

  async function setRunning(id: string, action: 'start' | 'stop'): Promise<boolean> {
    try {
      await api.request('POST', taskPath(id, `/status/${action}`));
      announce(`Task ${id} ${action === 'start' ? 'started' : 'stopped'}.`);
      return true;
    } catch (e) {
      announce(`Could not ${action} task ${id}: ${(e as Error).message}`, 'error');
      return false;
    }
  }

  /** Runs now and waits for the result; a successful answer has no run id, so the newest manual run is read. */
  async function runNow(id: string): Promise<RunOutcome> {
    try {
      const result = await api.request<unknown>('POST', taskPath(id, '/run'));
      const recent = await api.get<{ runs: RunView[] }>(taskPath(id, '/runs?limit=5')).catch(() => ({ runs: [] as RunView[] }));
      const run = recent.runs.find((r) => r.trigger === 'manual' && r.status === 'succeeded');
      announce(`Task ${id} ran: succeeded.`);
      return { ok: true, result, run };
    } catch (e) {
      if (e instanceof ApiError) {
        const { stage, logs, runId } = e.body as { stage?: string; logs?: string; runId?: number };
        announce(`Task ${id} ran: ${e.message}`, 'error');
        return { ok: false, message: e.message, stage, logs: logs ?? '', runId };
      }
      announce(`Could not run task ${id}: ${(e as Error).message}`, 'error');
      return { ok: false, message: (e as Error).message, stage: undefined, logs: '', runId: undefined };
    }
  }

  async function remove(id: string): Promise<boolean> {
    try {
      await api.request('DELETE', taskPath(id));
      announce(`Task ${id} deleted.`);
      return true;
    } catch (e) {
      announce(`Could not delete task ${id}: ${(e as Error).message}`, 'error');
      return false;
    }
  }

  return { setRunning, runNow, remove };
}
