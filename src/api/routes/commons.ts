// Governify ecosystem endpoints (COMPAT 30): health tools probe these on every Governify service.

import type { FastifyInstance } from 'fastify';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ApiDeps } from '../app.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string; description: string };

/** governify-commons numbers its levels 1 (debug) to 5 (fatal). */
const GOVERNIFY_LEVEL: Record<string, number> = { trace: 1, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, silent: 5 };

type Infrastructure = { internal: Record<string, unknown>; external: Record<string, unknown> };

async function loadInfrastructure(source: string | null, timeoutMs: number): Promise<Infrastructure> {
  if (!source) return { internal: {}, external: {} };
  const text = /^https?:\/\//.test(source)
    ? await (await fetch(source, { signal: AbortSignal.timeout(timeoutMs) })).text()
    : await readFile(source, 'utf8');
  const parsed = (parseYaml(text) ?? {}) as Partial<Infrastructure>;
  return { internal: parsed.internal ?? {}, external: parsed.external ?? {} };
}

/** How long an answer of GOV_INFRASTRUCTURE is served before it is read again (a failure: a tenth of it). */
export const INFRASTRUCTURE_TTL_MS = 60_000;

/**
 * The route is anonymous: reading the file (or fetching the URL) on every request would let anyone make
 * Director fetch as often as they like. One read at a time, its answer kept for a while.
 */
function cachedInfrastructure(source: string | null, timeoutMs: number, clock: { now(): number }, logger: ApiDeps['logger']) {
  let cached: { value: Promise<Infrastructure>; until: number } | undefined;
  return (): Promise<Infrastructure> => {
    const now = clock.now();
    if (cached && now < cached.until) return cached.value;
    const entry = { value: Promise.resolve({ internal: {}, external: {} } as Infrastructure), until: Number.POSITIVE_INFINITY };
    entry.value = loadInfrastructure(source, timeoutMs).then(
      (value) => {
        entry.until = clock.now() + INFRASTRUCTURE_TTL_MS;
        return value;
      },
      (error: unknown) => {
        // Health tools only read this; an unreadable file must not turn the probe into a 5xx.
        logger.warn({ err: error, source }, 'GOV_INFRASTRUCTURE could not be read; answering empty maps');
        entry.until = clock.now() + INFRASTRUCTURE_TTL_MS / 10;
        return { internal: {}, external: {} };
      },
    );
    cached = entry;
    return entry.value;
  };
}

export async function commonsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { config, logger } = deps;
  const infrastructure = cachedInfrastructure(config.govInfrastructure, config.fetchTimeoutMs, deps.clock, logger);
  const open = { config: { role: 'public' as const }, schema: { tags: ['operations'] } };

  app.get('/commons', open, async () => ({
    title: 'Governify Commons',
    version: pkg.version,
    serviceName: 'director',
    serviceVersion: pkg.version,
  }));

  app.get('/commons/logger/config', open, async () => ({ level: GOVERNIFY_LEVEL[config.logLevel] ?? 2 }));

  app.get('/commons/requestLogging', open, async (_request, reply) => {
    return reply.type('text/plain').send(GOVERNIFY_LEVEL[config.logLevel] === 1 ? 'Enabled' : 'Disabled');
  });

  app.get('/commons/infrastructure', open, () => infrastructure());

  app.get('/info', open, async () => ({
    name: 'director',
    info: { description: pkg.description, version: pkg.version, store: deps.store.kind, policy: config.scriptPolicy },
  }));
}
