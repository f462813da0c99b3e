// The assets seam the API and the runner use: where a task's script lives, its text, its sibling JSON.

import type { Config } from '../config.js';
import { createTextFetcher, fetchScript, type FetchedScript } from './fetch-script.js';
import { fetchSiblingJson, type SiblingFields } from './fetch-sibling-json.js';
import { assetsLocation, resolveScriptUrl } from './resolve-script-url.js';

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
}

export function createAssets({ config }: AssetsDeps): Assets {
  const location = assetsLocation(config.assetsUrl, config.scriptOrigins);
  const fetcher = createTextFetcher({ timeoutMs: config.fetchTimeoutMs, maxBytes: config.scriptMaxBytes });
  const resolve = (script: string): string => resolveScriptUrl(script, location);
  return {
    resolveScriptUrl: resolve,
    fetchScript: async (script) => fetchScript(resolve(script), fetcher),
    fetchSiblingJson: async (script) => fetchSiblingJson(resolve(script), fetcher),
    close: () => fetcher.close(),
  };
}
