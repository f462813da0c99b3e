// A task's `notify` setting (failure notifications by webhook), and how webhook URLs are shown.
//
// Webhook URLs usually carry their secret (Slack and Teams put it in the path, others in the query or
// user:password@), so they are never shown whole: answers and logs give `scheme://host/…`. A client
// that GETs a task, edits it and writes it back sends those masked forms; `restoreMaskedWebhooks`
// puts the stored URLs back in their place, so the round trip loses nothing.

import { invalidField } from './errors.js';

export const NOTIFY_EVENTS = ['failed', 'failing', 'recovered'] as const;
/**
 * failed    a run ended failed, timed_out or lost
 * failing   the run that brought the task's consecutive failures to N (once per streak)
 * recovered the first success after one failure or more
 */
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export interface NotifySettings {
  /** The task's own webhooks, called besides the global ones (DIRECTOR_NOTIFY_WEBHOOKS). */
  readonly webhooks: readonly string[];
  /** Consecutive failures that make the task `failing`; null: DIRECTOR_NOTIFY_AFTER_FAILURES. */
  readonly afterFailures: number | null;
  /** Events sent to the task's own webhooks; null: DIRECTOR_NOTIFY_EVENTS. */
  readonly events: readonly NotifyEvent[] | null;
}

export const MAX_TASK_WEBHOOKS = 10;
const MAX_URL_LENGTH = 2048;
const MAX_AFTER_FAILURES = 1000;
/** What a masked URL ends with: nothing after the host is shown. */
const MASKED_TAIL = '/…';

/** `https://hooks.slack.com/services/T0/B0/secret` → `https://hooks.slack.com/…`; userinfo, path and query dropped. */
export function maskWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${MASKED_TAIL}`;
  } catch {
    return `…`;
  }
}

export function isMaskedWebhookUrl(value: unknown): boolean {
  return typeof value === 'string' && (value === '…' || value.endsWith(MASKED_TAIL));
}

/** An http(s) URL, or a reason it is not one; the reason never quotes the URL (it may hold a secret). */
export function checkWebhookUrl(value: unknown): { readonly url: string } | { readonly problem: string } {
  if (typeof value !== 'string' || value.trim() === '') return { problem: 'must be an http(s) URL' };
  const text = value.trim();
  if (text.length > MAX_URL_LENGTH) return { problem: `must be at most ${MAX_URL_LENGTH} characters` };
  if (isMaskedWebhookUrl(text)) return { problem: 'is a masked URL (as answers show them): give the full URL' };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'is not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `must be an http(s) URL, got "${url.protocol}"` };
  return { url: text };
}

function parseEvents(value: unknown, field: string): readonly NotifyEvent[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw invalidField(field, `must be an array of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')}`);
  for (const [i, event] of value.entries()) {
    if (!(NOTIFY_EVENTS as readonly unknown[]).includes(event)) {
      throw invalidField(`${field}[${i}]`, `must be one of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')}`);
    }
  }
  return [...new Set(value as NotifyEvent[])];
}

/** Validates a task's `notify` field; absent or null means no settings of its own. */
export function parseNotify(value: unknown, field = 'notify'): NotifySettings | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidField(field, 'must be an object {webhooks, afterFailures, events}');
  const { webhooks, afterFailures, events } = value as Record<string, unknown>;
  let urls: string[] = [];
  if (webhooks !== undefined && webhooks !== null) {
    if (!Array.isArray(webhooks)) throw invalidField(`${field}.webhooks`, 'must be an array of http(s) URLs');
    if (webhooks.length > MAX_TASK_WEBHOOKS) throw invalidField(`${field}.webhooks`, `must hold at most ${MAX_TASK_WEBHOOKS} URLs`);
    urls = webhooks.map((entry, i) => {
      const checked = checkWebhookUrl(entry);
      if ('problem' in checked) throw invalidField(`${field}.webhooks[${i}]`, checked.problem);
      return checked.url;
    });
  }
  if (afterFailures !== undefined && afterFailures !== null
    && (typeof afterFailures !== 'number' || !Number.isInteger(afterFailures) || afterFailures < 1 || afterFailures > MAX_AFTER_FAILURES)) {
    throw invalidField(`${field}.afterFailures`, `must be a whole number from 1 to ${MAX_AFTER_FAILURES}`);
  }
  return {
    webhooks: urls,
    afterFailures: typeof afterFailures === 'number' ? afterFailures : null,
    events: parseEvents(events, `${field}.events`),
  };
}

function webhooksOf(doc: Record<string, unknown>): unknown[] | undefined {
  const notify = doc.notify;
  if (typeof notify !== 'object' || notify === null || Array.isArray(notify)) return undefined;
  const webhooks = (notify as Record<string, unknown>).webhooks;
  return Array.isArray(webhooks) ? webhooks : undefined;
}

function withWebhooks<T extends Record<string, unknown>>(doc: T, webhooks: unknown[]): T {
  return { ...doc, notify: { ...(doc.notify as Record<string, unknown>), webhooks } };
}

/** The doc with `notify.webhooks` masked (every role sees them so); other fields untouched. */
export function maskNotifyWebhooks<T extends Record<string, unknown>>(doc: T): T {
  const webhooks = webhooksOf(doc);
  if (webhooks === undefined || webhooks.length === 0) return doc;
  return withWebhooks(doc, webhooks.map((url) => (typeof url === 'string' ? maskWebhookUrl(url) : url)));
}

export function hasMaskedWebhooks(doc: Record<string, unknown>): boolean {
  return webhooksOf(doc)?.some(isMaskedWebhookUrl) ?? false;
}

/**
 * A write whose `notify.webhooks` holds masked URLs (a GET → edit → PUT round trip) gets the stored
 * URLs back: a masked entry stands for the stored URL with that masked form at the same position,
 * else for the first one with that form not yet used. One that matches none is a 400: its full URL
 * is unknown here.
 */
export function restoreMaskedWebhooks<T extends Record<string, unknown>>(doc: T, stored: Record<string, unknown> | undefined): T {
  const webhooks = webhooksOf(doc);
  if (webhooks === undefined || !webhooks.some(isMaskedWebhookUrl)) return doc;
  const known = (stored === undefined ? [] : webhooksOf(stored) ?? []).map((url) => (typeof url === 'string' ? url : null));
  const used = new Set<number>();
  const restored = webhooks.map((entry, i) => {
    if (!isMaskedWebhookUrl(entry)) return entry;
    const matches = (j: number): boolean => !used.has(j) && known[j] !== null && known[j] !== undefined && maskWebhookUrl(known[j]) === entry;
    const j = matches(i) ? i : known.findIndex((_, k) => matches(k));
    if (j < 0) throw invalidField(`notify.webhooks[${i}]`, 'is a masked URL that matches none of the task\'s stored webhooks: give the full URL');
    used.add(j);
    return known[j]!;
  });
  return withWebhooks(doc, restored);
}
