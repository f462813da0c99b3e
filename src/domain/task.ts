// The task model: the client's JSON kept verbatim, plus the typed fields the scheduler needs.
//
// Glossary (see docs/architecture.md for the whole picture)
// - task    a stored definition: the client's JSON document (`doc`, unknown fields kept) and what
//           Director derives from it: running, init, end, interval and Director settings.
// - slot    one scheduled instant of a task: init + k·interval (epoch ms, UTC), or an instant of its
//           cron in its timezone, inside [init, end). A task with neither has no slots: it is
//           on-demand, run only by hand.
// - run     one execution of a task's script: scheduled (has a slot), manual or test.
// - claim   the conditional write that makes one replica the owner of one slot.

import type { CronSpec } from './cron-schedule.js';
import { DirectorError, invalidField } from './errors.js';
import { parseNotify, type NotifySettings } from './notify-settings.js';
import { DEFAULT_TIMEZONE, parseCronSchedule } from './parse-cron-schedule.js';

export type TaskDoc = Record<string, unknown>;

export type OverlapPolicy = 'skip' | 'allow' | 'queue';
export type CatchUpPolicy = 'skip' | 'once' | 'all';

export interface RetryPolicy {
  readonly max: number;
  readonly backoffMs: number;
}

export interface TaskSettings {
  /** Per-run timeout; null means the configured default. */
  readonly timeoutMs: number | null;
  readonly overlap: OverlapPolicy;
  readonly catchUp: CatchUpPolicy;
  readonly retries: RetryPolicy | null;
  /** Failure notifications of this task (webhooks, threshold, events); null: the global ones only. */
  readonly notify: NotifySettings | null;
}

export interface Task {
  readonly id: string;
  /** The client's JSON, verbatim (with `id` filled in when it was generated). */
  readonly doc: TaskDoc;
  readonly script: string;
  readonly running: boolean;
  /** Anchor of the slots: the given `init`, else the moment the task was first created. */
  readonly initMs: number;
  readonly endMs: number | null;
  /** null with a null `cron`: an on-demand task, never scheduled. */
  readonly intervalMs: number | null;
  /** A cron schedule instead of an interval; null for interval and on-demand tasks. */
  readonly cron: CronSpec | null;
  readonly settings: TaskSettings;
  readonly createdMs: number;
  readonly updatedMs: number;
}

export const MAX_ID_LENGTH = 200;
/** A hundred years: longer intervals are surely a unit mistake, and keep slot math far from 2^53. */
export const MAX_INTERVAL_MS = 100 * 365 * 24 * 3600 * 1000;
const MAX_RETRIES = 100;

/** The config passed to `main`: `config`, or the Admin UI's `configuration` when `config` is absent (COMPAT 20). */
export function taskConfig(doc: TaskDoc): unknown {
  if (doc.config !== undefined) return doc.config;
  if (doc.configuration !== undefined) return doc.configuration;
  return {};
}

export function validateTaskId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string') throw invalidField(field, 'must be a string');
  if (id.length === 0) throw invalidField(field, 'must not be empty');
  if (id.length > MAX_ID_LENGTH) throw invalidField(field, `must be at most ${MAX_ID_LENGTH} characters`);
  if (/[/\\\0]/.test(id)) throw invalidField(field, 'must not contain "/", "\\" or NUL');
  if (id.includes('..')) throw invalidField(field, 'must not contain ".."');
  // Control characters make ids unprintable in logs and file names of the tasks folder.
  if (/[\u0000-\u001f\u007f]/.test(id)) throw invalidField(field, 'must not contain control characters');
  return id;
}

/** `running` as the original read it: falsy values (`""`, 0, null) and the string "false" mean stopped. */
export function parseRunning(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    return !(v === '' || v === 'false' || v === '0' || v === 'no' || v === 'off');
  }
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  throw invalidField('running', 'must be a boolean');
}

const ISO_WITHOUT_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;
const ISO_DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_LIKE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** A date as epoch ms: ISO-8601 (an absent offset means UTC) or an epoch-ms number or numeric string. */
export function parseDate(value: unknown, field: string): number | null {
  if (value === undefined || value === null || value === '') return null;
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (/^-?\d+$/.test(text)) {
      ms = Number(text);
    } else {
      if (!ISO_LIKE.test(text)) throw invalidField(field, `"${value}" is not an ISO-8601 date or epoch milliseconds`);
      const normalised = text.replace(' ', 'T');
      ms = Date.parse(ISO_WITHOUT_OFFSET.test(normalised) || ISO_DATE_ONLY.test(normalised) ? `${normalised}${ISO_DATE_ONLY.test(normalised) ? 'T00:00:00' : ''}Z` : normalised);
    }
  } else {
    throw invalidField(field, 'must be an ISO-8601 date string or epoch milliseconds');
  }
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw invalidField(field, `"${String(value)}" is not a valid date`);
  return Math.trunc(ms);
}

/** A positive whole number of milliseconds, given as a number or a numeric string ("5000"). */
export function parseInterval(value: unknown, field = 'interval'): number | null {
  if (value === undefined || value === null || value === '') return null;
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) ms = Number(value);
  else throw invalidField(field, `must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
  if (!Number.isFinite(ms)) throw invalidField(field, 'must be a finite number of milliseconds');
  if (ms <= 0) throw invalidField(field, `must be greater than 0, got ${ms}`);
  if (!Number.isInteger(ms)) throw invalidField(field, `must be a whole number of milliseconds, got ${ms}`);
  if (ms > MAX_INTERVAL_MS) throw invalidField(field, `must be at most ${MAX_INTERVAL_MS} ms (100 years)`);
  return ms;
}

function parseEnum<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalidField(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
}

function parseRetries(value: unknown): RetryPolicy | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') value = { max: value };
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidField('retries', 'must be an object {max, backoffMs}');
  const { max, backoffMs } = value as Record<string, unknown>;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > MAX_RETRIES) {
    throw invalidField('retries.max', `must be a whole number from 0 to ${MAX_RETRIES}`);
  }
  const backoff = backoffMs === undefined ? 1000 : backoffMs;
  if (typeof backoff !== 'number' || !Number.isInteger(backoff) || backoff < 0 || backoff > MAX_INTERVAL_MS) {
    throw invalidField('retries.backoffMs', 'must be a whole number of milliseconds ≥ 0');
  }
  return max === 0 ? null : { max, backoffMs: backoff };
}

/**
 * `stored`: the doc was validated when written. Only `notify` may still be invalid there — a client's
 * own field of that name stored before Director read it — and is then ignored rather than failing reads.
 */
export function parseSettings(doc: TaskDoc, stored = false): TaskSettings {
  const timeoutMs = parseInterval(doc.timeout, 'timeout');
  return {
    timeoutMs,
    overlap: parseEnum(doc.overlap, 'overlap', ['skip', 'allow', 'queue'] as const, 'skip'),
    catchUp: parseEnum(doc.catchUp, 'catchUp', ['skip', 'once', 'all'] as const, 'skip'),
    retries: parseRetries(doc.retries),
    notify: stored ? storedNotify(doc.notify) : parseNotify(doc.notify),
  };
}

function storedNotify(value: unknown): NotifySettings | null {
  try {
    return parseNotify(value);
  } catch {
    return null;
  }
}

function parseScript(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidField('script', 'is required: an http(s):// URL or a name relative to the assets location, e.g. "hello.js"');
  }
  const script = value.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(script)) {
    let url: URL;
    try {
      url = new URL(script);
    } catch {
      throw invalidField('script', `"${script}" is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalidField('script', `only http(s) URLs or asset names are accepted, got "${url.protocol}"`);
    }
    return script;
  }
  if (script.startsWith('/') || script.includes('\\') || script.split('/').includes('..') || script.includes('\0')) {
    throw invalidField('script', 'an asset name must be a relative path without ".." segments');
  }
  return script;
}

export interface ParseTaskOptions {
  /** The id to use when the body has none (POST: a fresh UUID; PUT: the path id). */
  readonly fallbackId: string;
  /** When the task is first created; the anchor of a task without `init`. */
  readonly createdMs: number;
  readonly nowMs: number;
}

/** Validates a client's task body; the returned task keeps the body verbatim as `doc`. */
export function parseTask(body: unknown, options: ParseTaskOptions): Task {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DirectorError('INVALID_BODY', 'the body must be a JSON object describing a task');
  }
  const doc: TaskDoc = { ...(body as TaskDoc) };
  if (doc.id === undefined || doc.id === null || doc.id === '') doc.id = options.fallbackId;
  const id = validateTaskId(doc.id);
  const script = parseScript(doc.script);
  const running = parseRunning(doc.running);
  const init = parseDate(doc.init, 'init');
  const endMs = parseDate(doc.end, 'end');
  const intervalMs = parseInterval(doc.interval);
  const cron = parseCronSchedule(doc, intervalMs);
  const initMs = init ?? options.createdMs;
  if (endMs !== null && endMs <= initMs) {
    throw invalidField('end', init === null ? 'must be after the creation time (the default init)' : 'must be after init');
  }
  return {
    id,
    doc,
    script,
    running,
    initMs,
    endMs,
    intervalMs,
    cron,
    settings: parseSettings(doc),
    createdMs: options.createdMs,
    updatedMs: options.nowMs,
  };
}

/** The stored form of a task; stores keep these columns and rebuild the task with `restoreTask`. */
export interface TaskRow {
  readonly id: string;
  /** The doc as JSON text. */
  readonly doc: string;
  readonly running: boolean;
  readonly initMs: number;
  readonly endMs: number | null;
  readonly intervalMs: number | null;
  /** The cron expression and its zone; both null unless the task has a cron schedule. */
  readonly cron: string | null;
  readonly timezone: string | null;
  readonly createdMs: number;
  readonly updatedMs: number;
}

export function toTaskRow(task: Task): TaskRow {
  return {
    id: task.id,
    doc: JSON.stringify(task.doc),
    running: task.running,
    initMs: task.initMs,
    endMs: task.endMs,
    intervalMs: task.intervalMs,
    cron: task.cron?.expression ?? null,
    timezone: task.cron?.timezone ?? null,
    createdMs: task.createdMs,
    updatedMs: task.updatedMs,
  };
}

/** Rebuilds a task from its row. The doc was validated when it was written, so this does not throw for it. */
export function restoreTask(row: TaskRow): Task {
  const doc = JSON.parse(row.doc) as TaskDoc;
  return {
    id: row.id,
    doc,
    script: typeof doc.script === 'string' ? doc.script.trim() : '',
    running: row.running,
    initMs: row.initMs,
    endMs: row.endMs,
    intervalMs: row.intervalMs,
    cron: row.cron === null ? null : { expression: row.cron, timezone: row.timezone ?? DEFAULT_TIMEZONE },
    settings: parseSettings(doc, true),
    createdMs: row.createdMs,
    updatedMs: row.updatedMs,
  };
}
