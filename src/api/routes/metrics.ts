// GET /metrics in Prometheus text format (viewer role: run counts and task states are not for
// strangers; a scraper sends a viewer token), and the hook that times every HTTP request.

import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';

/** Times every request by route pattern. Installed at the root before the routes so it covers all. */
export function installHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // Unknown paths share one label: a scan of random URLs must not grow the series without bound.
    const route = request.is404 ? '(unmatched)' : request.routeOptions.url ?? '(unmatched)';
    metrics.observeRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
}

export async function metricsRoutes(app: FastifyInstance, metrics: Metrics): Promise<void> {
  app.get('/metrics', {
    config: { role: 'viewer' },
    schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format 0.0.4)' },
  }, async (_request, reply) => {
    reply.type(metrics.contentType).header('cache-control', 'no-store');
    return metrics.text();
  });
}
