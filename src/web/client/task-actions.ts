// The actions on one task (start/stop, run now, delete), with what each tells the user.

import { ApiError, taskPath, type ApiClient } from './api-client.js';
import { useApp } from './app-context.js';

/** What /run or /tasks/test answered: the script's result, or the failure with its stage; the logs either way. */
export type RunOutcome =
  | { readonly ok: true; readonly result: unknown; readonly logs: string; readonly runId: number | undefined }
  | { readonly ok: false; readonly message: string; readonly stage: string | undefined; readonly logs: string; readonly runId: number | undefined };

interface RunDetails {
  readonly result?: unknown;
  readonly logs?: string;
  readonly runId?: number;
  readonly stage?: string;
}

/** Calls /run or /tasks/test with ?details=true, which answers the whole outcome, logs included. */
export async function requestRun(api: ApiClient, path: string, body?: unknown): Promise<RunOutcome> {
  try {
    const details = await api.request<RunDetails>('POST', `${path}?details=true`, body);
    return { ok: true, result: details.result, logs: details.logs ?? '', runId: details.runId };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 500) throw e;
    const details = e.body as RunDetails;
    return { ok: false, message: e.message, stage: details.stage, logs: details.logs ?? '', runId: details.runId };
  }
}

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

  /** Runs now and waits for the result. */
  async function runNow(id: string): Promise<RunOutcome> {
    try {
      const outcome = await requestRun(api, taskPath(id, '/run'));
      announce(outcome.ok ? `Task ${id} ran: succeeded.` : `Task ${id} ran: ${outcome.message}`, outcome.ok ? undefined : 'error');
      return outcome;
    } catch (e) {
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
