// `X.json` beside script `X.js`: the schedule fields (init, end, interval or cron + timezone) a task leaves out.

import { DirectorError, isDirectorError } from '../domain/errors.js';
import { parseCronExpression, parseTimeZone } from '../domain/parse-cron-schedule.js';
import { parseDate, parseInterval } from '../domain/task.js';
import { redactUrl } from '../lib/logger.js';
import type { TextFetcher } from './fetch-script.js';

export interface SiblingFields {
  readonly init?: unknown;
  readonly end?: unknown;
  readonly interval?: unknown;
  readonly cron?: unknown;
  readonly timezone?: unknown;
}

/** The sibling's URL, or null for a script that is not `*.js` (it has no sibling). */
export function siblingJsonUrl(scriptUrl: string): string | null {
  const match = /^(.*)\.js(\?.*)?$/i.exec(scriptUrl);
  return match ? `${match[1]}.json${match[2] ?? ''}` : null;
}

/**
 * Null when there is no sibling (404 is not an error). The values are returned as written, for the
 * task parser to read like request fields, but they are checked here first so that a bad value is
 * reported against the file it came from.
 */
export async function fetchSiblingJson(scriptUrl: string, fetcher: TextFetcher): Promise<SiblingFields | null> {
  const url = siblingJsonUrl(scriptUrl);
  if (url === null) return null;
  const file = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? url);
  let fetched;
  try {
    fetched = await fetcher.fetchText(url);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DirectorError('ASSETS_UNREACHABLE', `the assets are unreachable, so ${file} (the script's schedule) could not be read: ${reason}`, { url: redactUrl(url), file });
  }
  if (!fetched.found) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fetched.text);
  } catch (error) {
    throw new DirectorError('SIBLING_JSON_INVALID', `${file}: not valid JSON (${(error as Error).message})`, { file, url: redactUrl(url) });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DirectorError('SIBLING_JSON_INVALID', `${file}: must be a JSON object with init, end and/or interval (or cron and timezone)`, { file, url: redactUrl(url) });
  }
  const doc = parsed as Record<string, unknown>;
  const fields: { init?: unknown; end?: unknown; interval?: unknown; cron?: unknown; timezone?: unknown } = {};
  check(file, url, 'init', () => parseDate(doc.init, 'init'));
  check(file, url, 'end', () => parseDate(doc.end, 'end'));
  check(file, url, 'interval', () => parseInterval(doc.interval, 'interval'));
  check(file, url, 'timezone', () => parseTimeZone(doc.timezone));
  for (const field of ['init', 'end', 'interval', 'cron', 'timezone'] as const) {
    if (doc[field] !== undefined && doc[field] !== null && doc[field] !== '') fields[field] = doc[field];
  }
  if (fields.cron !== undefined) {
    check(file, url, 'cron', () => parseCronExpression(fields.cron));
    if (fields.interval !== undefined) throw new DirectorError('SIBLING_JSON_INVALID', `${file}: has both interval and cron; give one of them`, { file, url: redactUrl(url), field: 'cron' });
  }
  return fields;
}

function check(file: string, url: string, field: string, parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (!isDirectorError(error)) throw error;
    throw new DirectorError('SIBLING_JSON_INVALID', `${file}: ${error.message}`, { file, url: redactUrl(url), field });
  }
}
