// Per-client request budget: a fixed one-minute window per address, 429 with Retry-After beyond it.
// No dependency: Director's needs (one limit, one process) fit in a Map that is emptied every window.

import type { FastifyInstance } from 'fastify';
import { DirectorError } from '../domain/errors.js';

const WINDOW_MS = 60_000;
/** Probes must not be starved by a busy client on the same address (a sidecar, the kubelet). */
const EXEMPT = new Set(['/health', '/ready']);

export interface RateLimiter {
  /** Counts a request of `client`; returns the ms until it may retry when over the limit, else 0. */
  hit(client: string): number;
}

export function createRateLimiter(perMinute: number, now: () => number): RateLimiter {
  let window = -1;
  let counts = new Map<string, number>();
  return {
    hit(client) {
      const at = now();
      const current = Math.floor(at / WINDOW_MS);
      // A new window forgets every client at once: memory holds one minute of addresses at most.
      if (current !== window) {
        window = current;
        counts = new Map();
      }
      const count = (counts.get(client) ?? 0) + 1;
      counts.set(client, count);
      return count > perMinute ? (current + 1) * WINDOW_MS - at : 0;
    },
  };
}

export function installRateLimit(app: FastifyInstance, deps: { readonly config: { readonly rateLimitPerMinute: number }; readonly clock: { now(): number } }): void {
  const perMinute = deps.config.rateLimitPerMinute;
  if (perMinute <= 0) return;
  const limiter = createRateLimiter(perMinute, () => deps.clock.now());
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== undefined && EXEMPT.has(request.routeOptions.url)) return;
    const waitMs = limiter.hit(request.ip ?? 'unknown');
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      reply.header('retry-after', String(seconds));
      throw new DirectorError('RATE_LIMITED', `more than ${perMinute} requests in a minute from this address; retry in ${seconds} s (DIRECTOR_RATE_LIMIT)`, { retryAfterSeconds: seconds });
    }
  });
}
