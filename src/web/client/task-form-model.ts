// The task form's fields ⇄ a task document, validated by the server's own parseTask so that the form
// shows exactly the messages the API would answer.

import { isDirectorError } from '../../domain/errors.js';
import { parseTask } from '../../domain/task.js';
import { isRunning, type TaskDoc } from './task-fields.js';

export interface TaskFields {
  id: string;
  script: string;
  running: boolean;
  interval: string;
  cron: string;
  timezone: string;
  init: string;
  end: string;
  tags: string;
  config: string;
  timeout: string;
  overlap: string;
  catchUp: string;
}

export const FIELD_NAMES = ['id', 'script', 'running', 'interval', 'cron', 'timezone', 'init', 'end', 'tags', 'config', 'timeout', 'overlap', 'catchUp'] as const;

export interface FieldError {
  /** The API's `field` ("interval", "retries.max"…); '' when the error is about the whole body. */
  readonly field: string;
  readonly message: string;
}

const text = (value: unknown): string => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));

export function fieldsFromDoc(doc: Partial<TaskDoc>): TaskFields {
  const tags = doc.tags;
  return {
    id: text(doc.id),
    script: text(doc.script),
    running: isRunning({ ...doc, id: '' }),
    interval: text(doc.interval),
    cron: text(doc.cron),
    timezone: text(doc.timezone),
    init: text(doc.init),
    end: text(doc.end),
    tags: Array.isArray(tags) ? tags.join(', ') : text(tags),
    config: doc.config === undefined ? '{}' : JSON.stringify(doc.config, null, 2),
    timeout: text(doc.timeout),
    overlap: text(doc.overlap),
    catchUp: text(doc.catchUp),
  };
}

/** "5000" is sent as the number 5000 and "2025-01-01T00:00:00Z" as a string, as a person means them. */
function numberOrText(value: string): number | string {
  const trimmed = value.trim();
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/**
 * The document the form describes: `base` (the task being edited, so fields the form does not show
 * are kept) with the form's fields on top; an empty field removes the key.
 */
export function docFromFields(fields: TaskFields, base: Record<string, unknown> = {}): { doc: Record<string, unknown>; error?: FieldError } {
  const doc: Record<string, unknown> = { ...base };
  const set = (key: string, value: unknown) => {
    if (value === '' || value === undefined) delete doc[key];
    else doc[key] = value;
  };
  set('id', fields.id.trim());
  set('script', fields.script.trim());
  doc.running = fields.running;
  set('interval', fields.interval.trim() === '' ? '' : numberOrText(fields.interval));
  set('cron', fields.cron.trim());
  set('timezone', fields.timezone.trim());
  set('init', fields.init.trim() === '' ? '' : numberOrText(fields.init));
  set('end', fields.end.trim() === '' ? '' : numberOrText(fields.end));
  set('timeout', fields.timeout.trim() === '' ? '' : numberOrText(fields.timeout));
  set('overlap', fields.overlap);
  set('catchUp', fields.catchUp);
  const tags = fields.tags.split(',').map((t) => t.trim()).filter((t) => t !== '');
  set('tags', tags.length === 0 ? undefined : tags);
  if (fields.config.trim() === '') {
    delete doc.config;
  } else {
    try {
      doc.config = JSON.parse(fields.config);
    } catch (e) {
      return { doc, error: { field: 'config', message: `config: not valid JSON (${(e as Error).message})` } };
    }
  }
  return { doc };
}

/** The API's validation, run in the browser; undefined when the document is acceptable. */
export function validateDoc(doc: unknown, now = Date.now()): FieldError | undefined {
  try {
    parseTask(doc, { fallbackId: 'new-task', createdMs: now, nowMs: now });
    return undefined;
  } catch (e) {
    if (isDirectorError(e)) return { field: typeof e.details.field === 'string' ? e.details.field : '', message: e.message };
    return { field: '', message: (e as Error).message };
  }
}

/** Raw-JSON mode: the text must be a JSON object. */
export function parseRaw(raw: string): { doc?: Record<string, unknown>; error?: FieldError } {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { error: { field: '', message: 'the body must be a JSON object describing a task' } };
    }
    return { doc: value as Record<string, unknown> };
  } catch (e) {
    return { error: { field: '', message: `the body is not valid JSON: ${(e as Error).message}` } };
  }
}
