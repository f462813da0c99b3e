// Liveness and readiness for orchestrators: /health says the process answers, /ready that it can work.

import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const started = deps.clock.now();

  app.get('/health', { config: { role: 'public' }, schema: { tags: ['operations'], summary: 'The process is up' } }, async () => ({
    status: 'ok',
    uptimeMs: deps.clock.now() - started,
    instance: deps.config.instanceId,
  }));

  app.get('/ready', { config: { role: 'public' }, schema: { tags: ['operations'], summary: 'Store reachable, scheduler running, executors available' } }, async (_request, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      const counts = await deps.store.countTasks();
      checks.store = { ok: true, detail: `${deps.store.kind}, ${counts.total} tasks` };
    } catch (error) {
      checks.store = { ok: false, detail: `${deps.store.kind} unreachable: ${(error as Error).message}` };
    }
    const paused = deps.scheduler.claimsPausedReason?.();
    const schedulerDetail = !deps.scheduler.isRunning() ? 'not claiming slots' : paused === undefined ? undefined : `not claiming slots: ${paused}`;
    checks.scheduler = { ok: schedulerDetail === undefined, ...(schedulerDetail === undefined ? {} : { detail: schedulerDetail }) };
    // Cluster mode: without its database session a replica claims and starts nothing.
    const sessionDown = deps.session?.downReason();
    if (sessionDown !== undefined) checks.session = { ok: false, detail: `not starting runs: ${sessionDown}` };
    const pool = deps.runner?.poolState();
    checks.executors = pool
      ? { ok: pool.executors > 0, detail: `${pool.executors} executors, ${pool.running}/${pool.maxRuns} runs in progress, ${pool.queued} queued` }
      : { ok: false, detail: 'runner not available' };
    const ready = Object.values(checks).every((c) => c.ok);
    reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', checks };
  });
}
