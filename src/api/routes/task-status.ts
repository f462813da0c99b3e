// A task's state: status (COMPAT 15), start/stop/switch (COMPAT 13), badge (COMPAT 16), slot preview.

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { DirectorError } from '../../domain/errors.js';
import type { RunRecord } from '../../domain/run.js';
import { hasEnded, hasSlots, upcomingSlots } from '../../domain/schedule.js';
import type { Task } from '../../domain/task.js';
import type { ApiDeps } from '../app.js';
import { errors, IdParams } from '../schemas.js';
import { taskNotFound } from '../../tasks/task-writes.js';
import { badgeSvg } from '../badge.js';
import { asAnswered } from '../viewer-masking.js';

const MAX_PREVIEW = 1000;

function iso(ms: number | undefined | null): string | null {
  return ms === undefined || ms === null ? null : new Date(ms).toISOString();
}

export async function taskStatusRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, scheduler, clock, tasks: writes } = deps;

  async function mustGet(id: string): Promise<Task> {
    const task = await store.getTask(id);
    if (!task) throw taskNotFound(id);
    return task;
  }

  /** The next slot: what the scheduler has planned, else what the arithmetic says. */
  function nextExecution(task: Task): number | undefined {
    if (!task.running) return undefined;
    return scheduler.nextExecution(task.id) ?? upcomingSlots(task, clock.now(), 1)[0];
  }

  api.get('/:id/status', {
    config: { role: 'viewer' },
    schema: { tags: ['tasks'], summary: 'Running state, next execution, last run and counts', params: IdParams, response: errors(404) },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const task = await mustGet(id);
    const next = nextExecution(task);
    const stats = await store.runStats(id);
    const last: RunRecord | null = stats.lastRun;
    return {
      id: task.id,
      running: task.running,
      nextExecution: next === undefined ? null : String(next),
      nextExecutionDate: iso(next),
      onDemand: !hasSlots(task),
      ended: hasEnded(task, clock.now()),
      interval: task.intervalMs,
      cron: task.cron?.expression ?? null,
      timezone: task.cron?.timezone ?? null,
      init: iso(task.initMs),
      end: iso(task.endMs),
      lastRun: last && {
        id: last.id,
        slot: last.slot,
        trigger: last.trigger,
        status: last.status,
        queuedAt: iso(last.queuedMs),
        startedAt: iso(last.startedMs),
        finishedAt: iso(last.finishedMs),
        durationMs: last.durationMs,
        latenessMs: last.latenessMs,
        queueWaitMs: last.queuedMs === null || last.startedMs === null ? null : last.startedMs - last.queuedMs,
      },
      runs: stats.counts,
      consecutiveFailures: stats.consecutiveFailures,
      missedSlots: scheduler.stats(id)?.missedSlots ?? 0,
    };
  });

  api.post('/:id/status/:action', {
    config: { role: 'operator' },
    schema: {
      tags: ['tasks'],
      summary: 'start, stop or switch a task; answers the updated task',
      params: Type.Object({ id: Type.String({ maxLength: 1000 }), action: Type.String({ maxLength: 100 }) }),
      response: errors(400, 404),
    },
  }, async (request, reply) => {
    const { id, action } = request.params as { id: string; action: string };
    const task = await writes.setRunning(id, action);
    return reply.type('application/json').send(JSON.stringify(asAnswered(task.doc)));
  });

  api.get('/:id/badge', {
    config: { role: 'public' },
    schema: { tags: ['tasks'], summary: 'SVG badge: running or stopped', params: IdParams, response: errors(404) },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const task = await mustGet(id);
    return reply.type('image/svg+xml').header('cache-control', 'no-cache').send(badgeSvg(task.running));
  });

  api.get('/:id/slots', {
    config: { role: 'viewer' },
    schema: {
      tags: ['tasks'],
      summary: 'The next slots of a task (as they would be, also when stopped)',
      params: IdParams,
      querystring: Type.Object({ count: Type.Optional(Type.String({ pattern: '^\\d+$' })) }),
      response: errors(400, 404),
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const { count } = request.query as { count?: string };
    const n = count === undefined ? 10 : Number(count);
    if (n < 1 || n > MAX_PREVIEW) throw new DirectorError('INVALID_QUERY', `count: must be from 1 to ${MAX_PREVIEW}`, { field: 'count' });
    const task = await mustGet(id);
    const slots = scheduler.previewSlots(task, n);
    return { id, running: task.running, onDemand: !hasSlots(task), slots: slots.map((ms) => ({ ms, at: iso(ms) })) };
  });
}
