// Builds a real Director for tests: SQLite file in a temp folder, real executor pool, real scheduler,
// scripts served by a loopback assets server. Tests call the API in-process with app.inject().

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { testConfig, type Config } from '../../src/config.js';
import { createDirector, type Director } from '../../src/director.js';
import type { Clock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { startAssetsServer, type AssetsServer } from './assets-server.js';

export interface Harness {
  readonly director: Director;
  readonly assets: AssetsServer;
  readonly dataDir: string;
  readonly config: Config;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** JSON request shorthand: method, url, optional body. */
  call(method: string, url: string, body?: unknown): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  /** Warnings and errors Director logged so far, parsed. */
  warnings(): Array<{ level: number; msg: string; [key: string]: unknown }>;
  /** Fails when Director logged a failure of its own (a 500 it did not mean, a reply sent twice). */
  assertNoInternalErrors(): void;
  /** Stops Director (keeping the data folder) and starts a new one on the same folder. */
  restart(): Promise<Harness>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly config?: Partial<Config>;
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  readonly dataDir?: string;
  readonly assets?: AssetsServer;
  /** Listen on a loopback port too (for tests that need real HTTP). */
  readonly listen?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'director-test-'));
  const assets = options.assets ?? (await startAssetsServer());
  const config = testConfig({ dataDir, port: 0, assetsUrl: assets.url, executors: 1, ...options.config }, options.env ?? {});
  const logged: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  const logger = createLogger('warn', { write: (line: string) => { logged.push(JSON.parse(line)); } });
  // Executors see this process's environment plus the test's, as under `npm start` with those variables.
  const director = await createDirector(config, { logger, env: { ...process.env, ...options.env }, ...(options.clock ? { clock: options.clock } : {}) });
  if (options.listen) await director.start();
  else await director.startScheduling();
  const ownsAssets = !options.assets;
  const ownsDataDir = !options.dataDir;

  const request = (inject: InjectOptions) => director.app.inject(inject);
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await director.app.inject({
      method: method as InjectOptions['method'],
      url,
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    let parsed: unknown = response.body;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.statusCode, body: parsed as any, headers: response.headers };
  };

  const harness: Harness = {
    director,
    assets,
    dataDir,
    config,
    request,
    call,
    warnings: () => [...logged],
    assertNoInternalErrors() {
      const internal = logged.filter((l) => /unexpectedly|already sent|FST_ERR_REP|Cannot write headers/i.test(`${l.msg} ${JSON.stringify(l.err ?? '')}`));
      if (internal.length > 0) throw new Error(`Director logged internal errors:\n${internal.map((l) => JSON.stringify(l)).join('\n')}`);
    },
    async restart() {
      await director.stop();
      const next = await startHarness({ ...options, dataDir, assets });
      // The new harness takes over cleaning up what this one created.
      return { ...next, close: async () => { await next.close(); if (ownsAssets) await assets.close(); if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true }); } };
    },
    async close() {
      await director.stop();
      if (ownsAssets) await assets.close();
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
      // Every test that builds a Director also checks that it never failed on its own.
      harness.assertNoInternalErrors();
    },
  };
  return harness;
}

