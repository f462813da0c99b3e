// The assets seam the API and the runner use: where a task's script lives, its text, its sibling JSON.

import type { Config } from '../config.js';
import { DirectorError, isDirectorError } from '../domain/errors.js';
import { createTextFetcher, fetchScript, type FetchedScript } from './fetch-script.js';
import { fetchSiblingJson, type SiblingFields } from './fetch-sibling-json.js';
import { assetsLocation, resolveScriptUrl } from './resolve-script-url.js';
import { redactUrl } from '../lib/logger.js';

export type { FetchedScript, SiblingFields };

export interface Assets {
  /** Throws SCRIPT_ORIGIN_REJECTED for a URL outside DIRECTOR_SCRIPT_ORIGINS. */
  resolveScriptUrl(script: string): string;
  /** Fetches a task's script (a name or a URL) now; throws ASSETS_UNREACHABLE (or the origin error). */
  fetchScript(script: string): Promise<FetchedScript>;
  /** Null when the script has no sibling JSON; SIBLING_JSON_INVALID or ASSETS_UNREACHABLE otherwise. */
  fetchSiblingJson(script: string): Promise<SiblingFields | null>;
  /** Closes kept-alive connections. */
  close(): void;
}

export interface AssetsDeps {
  readonly config: Pick<Config, 'assetsUrl' | 'scriptOrigins' | 'fetchTimeoutMs' | 'scriptMaxBytes'>;
  /** Told of every fetch (script or sibling JSON): how long it took and whether it worked (metrics). */
  readonly onFetch?: (seconds: number, ok: boolean) => void;
}

export function createAssets({ config, onFetch }: AssetsDeps): Assets {
  const location = assetsLocation(config.assetsUrl, config.scriptOrigins);
  const resolve = (script: string): string => resolveScriptUrl(script, location);
  const fetcher = createTextFetcher({
    timeoutMs: config.fetchTimeoutMs,
    maxBytes: config.scriptMaxBytes,
    // A redirect is held to the same rule as the task's script URL (SCRIPT_ORIGIN_REJECTED otherwise).
    checkRedirect: (url) => {
      try {
        resolve(url);
      } catch (error) {
        if (!isDirectorError(error) || error.code !== 'SCRIPT_ORIGIN_REJECTED') throw error;
        throw new DirectorError('SCRIPT_ORIGIN_REJECTED', `a redirect led to ${redactUrl(url)}, which is not under an allowed origin (DIRECTOR_SCRIPT_ORIGINS: ${config.scriptOrigins.join(', ')}); it was not followed`, { field: 'script', url: redactUrl(url) });
      }
    },
  });
  async function timed<T>(fetching: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await fetching();
      onFetch?.((performance.now() - started) / 1000, true);
      return result;
    } catch (error) {
      onFetch?.((performance.now() - started) / 1000, false);
      throw error;
    }
  }
  return {
    resolveScriptUrl: resolve,
    fetchScript: (script) => timed(() => fetchScript(resolve(script), fetcher)),
    fetchSiblingJson: (script) => timed(() => fetchSiblingJson(resolve(script), fetcher)),
    close: () => fetcher.close(),
  };
}
