// A task's `script` → the URL it is fetched from: absolute http(s) URLs as given, names under the assets.

import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DirectorError } from '../domain/errors.js';
import { redactUrl } from '../lib/logger.js';

/** Where names resolve: the Governify assets manager's public director folder, or a local folder. */
export interface AssetsLocation {
  /** Base URL ending in `/`: `http://host/api/v1/public/director/` or `file:///folder/`. */
  readonly base: string;
  /** URL prefixes a script must start with; empty means any. URLs under `base` are always allowed. */
  readonly origins: readonly string[];
}

export const GOVIFY_SCRIPTS_PATH = '/api/v1/public/director/';

/**
 * A local folder is laid out like the assets manager's public folder when it has a `director/`
 * subfolder (as the shipped assets/ does); otherwise scripts sit directly in it.
 */
export function assetsLocation(assetsUrl: string, origins: readonly string[]): AssetsLocation {
  if (/^https?:/i.test(assetsUrl)) return { base: `${assetsUrl.replace(/\/+$/, '')}${GOVIFY_SCRIPTS_PATH}`, origins };
  const folder = fileURLToPath(assetsUrl);
  const nested = path.join(folder, 'director');
  const base = isDirectory(nested) ? nested : folder;
  return { base: pathToFileURL(base).href.replace(/\/*$/, '/'), origins };
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

export function resolveScriptUrl(script: string, location: AssetsLocation): string {
  const trimmed = script.trim();
  const url = /^https?:\/\//i.test(trimmed) ? normalise(trimmed) : nameUrl(trimmed, location.base);
  if (location.origins.length > 0 && !url.startsWith(location.base) && !location.origins.some((prefix) => url.startsWith(normalise(prefix)))) {
    throw new DirectorError(
      'SCRIPT_ORIGIN_REJECTED',
      `script: ${redactUrl(url)} is not under an allowed origin (DIRECTOR_SCRIPT_ORIGINS: ${location.origins.join(', ')})`,
      { field: 'script', url: redactUrl(url) },
    );
  }
  return url;
}

/**
 * The URL as it will be fetched: `ok/../evil` and `ok/%2e%2e/evil` are `evil`, and a prefix check on
 * the text as written would let them through.
 */
function normalise(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

/** Names are relative paths (task validation rejects `..`); each segment is encoded on its own. */
function nameUrl(name: string, base: string): string {
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) {
    throw new DirectorError('INVALID_FIELD', `script: "${name}" is not a valid asset name`, { field: 'script' });
  }
  return `${base}${segments.map(encodeURIComponent).join('/')}`;
}
