// The one task-write service: the API, the tasks folder and end-of-task all write tasks through it.
// Validate, fill from the script's sibling JSON, check the script's origin, store durably, re-plan
// the scheduler, announce `task:changed` — in that order, and a write resolves only once every
// listener of the announcement is done (the tasks folder's file is written before an API answer).

import { randomUUID } from 'node:crypto';
import { DirectorError } from '../domain/errors.js';
import { repeatsFields } from '../domain/json-equal.js';
import { hasMaskedWebhooks, restoreMaskedWebhooks } from '../domain/notify-settings.js';
import { parseTask, type Task, type TaskDoc } from '../domain/task.js';
import type { Clock } from '../lib/clock.js';
import type { DirectorEvents, TaskChange } from '../lib/events.js';
import type { Store } from '../store/store.js';
import { checkFileSafeId } from '../task-files/task-file-name.js';

export type WriteResult = { readonly task: Task; readonly change: 'created' | 'replaced' };

/** What task writes need of the assets. */
export interface AssetsPort {
  /** The URL a task's script is fetched from; throws SCRIPT_ORIGIN_REJECTED outside allowed origins. */
  resolveScriptUrl(script: string): string;
  /** `X.json` beside script `X.js`: its schedule fields, or null when there is none. */
  fetchSiblingJson(script: string): Promise<{ init?: unknown; end?: unknown; interval?: unknown; cron?: unknown; timezone?: unknown } | null>;
}

export interface TaskWritesDeps {
  readonly store: Store;
  readonly assets: AssetsPort;
  readonly events: DirectorEvents;
  readonly clock: Pick<Clock, 'now'>;
  /** Re-plans a task after a write; resolves once no stale slot of it can start. */
  readonly replan: (id: string) => Promise<void>;
}

export interface TaskWrites {
  /** POST: create, or fully replace when the id exists (TPA-Manager toggles `running` this way); a repeat is refused. */
  post(body: unknown): Promise<WriteResult>;
  /** PUT: full replacement of an existing task; a body without `id` keeps the path's. */
  put(id: string, body: unknown): Promise<WriteResult>;
  remove(id: string): Promise<void>;
  /** start / stop / switch, with the original's messages. */
  setRunning(id: string, action: string): Promise<Task>;
  /**
   * End-of-task: deletes a running task whose end has passed, as a claim (true only for the one
   * caller that deleted it). Not re-planned: the scheduler asking is the one ending it. The
   * announcement is not waited for, so the scheduler goes on at once.
   */
  deleteEnded(id: string, nowMs: number): Promise<boolean>;
}

const SCHEDULE_FIELDS = ['init', 'end', 'interval'] as const;
const CRON_FIELDS = ['cron', 'timezone'] as const;

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

export function createTaskWrites(deps: TaskWritesDeps): TaskWrites {
  const { store, assets, events, clock, replan } = deps;

  /** Tells every listener; resolves once their work is done (a listener's failure does not undo the write). */
  async function announce(id: string, change: TaskChange): Promise<void> {
    await events.emitAndWait('task:changed', { id, change });
  }

  /**
   * Fields the request leaves out are taken from `X.json` beside script `X.js`; given fields win. How
   * often (interval, or cron with its timezone) comes from it only when the request names neither
   * interval nor cron, so a request never ends up with both.
   */
  async function fillFromSibling(doc: TaskDoc): Promise<TaskDoc> {
    const ownFrequency = !isMissing(doc.interval) || !isMissing(doc.cron);
    const fields = ownFrequency ? SCHEDULE_FIELDS.filter((f) => f !== 'interval') : [...SCHEDULE_FIELDS, ...CRON_FIELDS];
    if (typeof doc.script !== 'string' || !fields.some((f) => isMissing(doc[f]))) return doc;
    if (!/\.js(\?.*)?$/i.test(doc.script.trim())) return doc;
    const sibling = await assets.fetchSiblingJson(doc.script.trim());
    if (!sibling) return doc;
    const filled: TaskDoc = { ...doc };
    for (const field of fields) {
      if (isMissing(filled[field]) && sibling[field] !== undefined) filled[field] = sibling[field];
    }
    return filled;
  }

  async function commit(task: Task): Promise<WriteResult> {
    assets.resolveScriptUrl(task.script);
    const change = await store.putTask(task);
    await replan(task.id);
    await announce(task.id, change);
    return { task, change };
  }

  /** Rejects a POST that repeats an existing task field for field; returns the task with the body's id, if any. */
  async function rejectRepeat(body: TaskDoc): Promise<Task | undefined> {
    const hasId = !isMissing(body.id);
    const existing = hasId && typeof body.id === 'string' ? await store.getTask(body.id) : undefined;
    const candidates = hasId
      ? [existing].filter((t): t is Task => t !== undefined)
      : typeof body.script === 'string'
        ? await store.listTasks({ filter: { script: body.script } })
        : [];
    const fields = hasId ? body : Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'id'));
    if (candidates.some((task) => repeatsFields(fields, task.doc))) {
      throw new DirectorError('TASK_ALREADY_EXISTS', 'Task already exists');
    }
    return existing;
  }

  /**
   * Webhook URLs are answered masked (domain/notify-settings.ts): a client that read a task and writes
   * it back sends them so, and gets the stored URLs kept. Read before the repeat check, so an unchanged
   * re-POST is still a repeat.
   */
  async function unmaskWebhooks(body: TaskDoc): Promise<TaskDoc> {
    if (!hasMaskedWebhooks(body)) return body;
    const stored = typeof body.id === 'string' && body.id !== '' ? await store.getTask(body.id) : undefined;
    return restoreMaskedWebhooks(body, stored?.doc);
  }

  async function post(body: unknown): Promise<WriteResult> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new DirectorError('INVALID_BODY', 'the body must be a JSON object describing a task');
    }
    const requested = await unmaskWebhooks(body as TaskDoc);
    const existing = await rejectRepeat(requested);
    const now = clock.now();
    const id = isMissing(requested.id) ? randomUUID() : requested.id;
    // A new id must fit a file of the tasks folder (existing tasks keep theirs: they are stored already).
    if (!existing && typeof id === 'string') checkFileSafeId(id);
    const doc = await fillFromSibling({ ...requested, id });
    return commit(parseTask(doc, { fallbackId: String(id), createdMs: existing?.createdMs ?? now, nowMs: now }));
  }

  async function put(id: string, body: unknown): Promise<WriteResult> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new DirectorError('INVALID_BODY', 'the body must be a JSON object describing a task');
    }
    if (!isMissing((body as TaskDoc).id) && (body as TaskDoc).id !== id) {
      throw new DirectorError('INVALID_FIELD', `id: the body's id "${String((body as TaskDoc).id)}" differs from the path's "${id}"`, { field: 'id' });
    }
    const existing = await store.getTask(id);
    if (!existing) throw taskNotFound(id);
    const requested = restoreMaskedWebhooks(body as TaskDoc, existing.doc);
    const now = clock.now();
    const doc = await fillFromSibling({ ...requested, id });
    return commit(parseTask(doc, { fallbackId: id, createdMs: existing.createdMs, nowMs: now }));
  }

  async function remove(id: string): Promise<void> {
    if (!(await store.deleteTask(id))) throw taskNotFound(id);
    await replan(id);
    await announce(id, 'deleted');
  }

  async function setRunning(id: string, action: string): Promise<Task> {
    const task = await store.getTask(id);
    if (!task) throw taskNotFound(id);
    let running: boolean;
    if (action === 'start') {
      if (task.running) throw new DirectorError('TASK_ALREADY_RUNNING', 'Task already running');
      running = true;
    } else if (action === 'stop') {
      if (!task.running) throw new DirectorError('TASK_NOT_RUNNING', 'Task is not running');
      running = false;
    } else if (action === 'switch') {
      running = !task.running;
    } else {
      throw new DirectorError('ACTION_NOT_PERMITTED', 'Action not permitted', { action });
    }
    const doc = { ...task.doc, running };
    const now = clock.now();
    return (await commit(parseTask(doc, { fallbackId: id, createdMs: task.createdMs, nowMs: now }))).task;
  }

  async function deleteEnded(id: string, nowMs: number): Promise<boolean> {
    const deleted = await store.deleteEndedTask(id, nowMs);
    if (deleted) void announce(id, 'ended');
    return deleted;
  }

  return { post, put, remove, setRunning, deleteEnded };
}

export function taskNotFound(id: string): DirectorError {
  return new DirectorError('TASK_NOT_FOUND', 'Not Found', { id });
}
