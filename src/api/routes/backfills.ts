// Backfills over HTTP (issue #17): ask for one on a task, follow it, cancel it. Operators start and
// cancel; viewers follow. A backfill's runs are in its task's run history with trigger `backfill`.

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { BACKFILL_MAX_ATTEMPTS, BACKFILL_STATUSES, isActive, MAX_BACKFILL_CONCURRENCY, type BackfillCounts, type BackfillRecord, type BackfillStatus } from '../../domain/backfill.js';
import { backfillNotFound } from '../../backfills/backfill-requests.js';
import type { ApiDeps } from '../app.js';
import { errors, IdParams, PageQuery, pageOf } from '../schemas.js';
import { taskNotFound } from '../../tasks/task-writes.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A backfill as the API shows it: ISO dates beside epoch ms, its schedule as the task wrote it. */
export function publicBackfill(backfill: BackfillRecord, counts: BackfillCounts | null) {
  const { schedule } = backfill;
  return {
    id: backfill.id,
    taskId: backfill.taskId,
    status: backfill.status,
    from: iso(backfill.fromMs),
    to: iso(backfill.toMs),
    fromMs: backfill.fromMs,
    toMs: backfill.toMs,
    concurrency: backfill.concurrency,
    slots: backfill.slots,
    /** Slots by the outcome of their last attempt; `pending`: not started yet. */
    counts,
    nextSlotAt: iso(backfill.nextSlot),
    schedule: schedule.cron != null
      ? { cron: schedule.cron.expression, timezone: schedule.cron.timezone, init: iso(schedule.initMs), end: iso(schedule.endMs) }
      : { interval: schedule.intervalMs, init: iso(schedule.initMs), end: iso(schedule.endMs) },
    requestedBy: backfill.requestedBy,
    reason: backfill.reason,
    createdAt: iso(backfill.createdMs),
    finishedAt: iso(backfill.finishedMs),
  };
}

const BackfillBody = Type.Object({
  from: Type.Union([Type.String(), Type.Number()], { description: 'First instant of the range, included: ISO-8601 (no offset = UTC) or epoch ms' }),
  to: Type.Union([Type.String(), Type.Number()], { description: 'End of the range, excluded; not in the future' }),
  concurrency: Type.Optional(Type.Union([Type.Integer(), Type.String()], { description: `Runs of this backfill at once, 1 to ${MAX_BACKFILL_CONCURRENCY}; default 1 (one slot after the other)` })),
}, { additionalProperties: false, examples: [{ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', concurrency: 4 }] });

const BackfillParams = Type.Object({ backfillId: Type.String({ pattern: '^\\d{1,15}$' }) });
const ListQuery = Type.Intersect([PageQuery, Type.Object({ status: Type.Optional(Type.String({ enum: [...BACKFILL_STATUSES] })) })]);

export async function backfillRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, backfills } = deps;

  /** An active backfill's counts come from its runs as they are now; an ended one's were frozen at its end. */
  async function shown(backfill: BackfillRecord) {
    if (!isActive(backfill.status)) return publicBackfill(backfill, backfill.counts);
    const progress = await store.backfillProgress(backfill.id, BACKFILL_MAX_ATTEMPTS);
    return publicBackfill(progress?.backfill ?? backfill, progress?.counts ?? backfill.counts);
  }

  async function list(query: { limit?: string; offset?: string; status?: string }, taskId?: string) {
    const page = pageOf(query, 50, 1000);
    const found = await store.listBackfills({ ...page, ...(taskId === undefined ? {} : { taskId }), ...(query.status ? { status: query.status as BackfillStatus } : {}) });
    return Promise.all(found.map(shown));
  }

  await app.register(async (api) => {
    api.post('/:id/backfills', {
      config: { role: 'operator' },
      schema: {
        tags: ['backfills'],
        summary: 'Run the task\'s slots of a past range [from, to) once more, in order, at most `concurrency` at once',
        description: 'Each slot gets a run with trigger "backfill" beside any run it already has; main(config, context) gets the slot as context.slot. ' +
          `A run lost with its replica (or killed at shutdown) is run again, up to ${BACKFILL_MAX_ATTEMPTS} attempts. ` +
          'Refused with 409 while another active backfill of the task overlaps the range.',
        params: IdParams,
        body: BackfillBody,
        response: errors(400, 404, 409),
      },
    }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const created = await backfills.request(id, request.body as { from: unknown; to: unknown; concurrency?: unknown }, request.caller?.name ?? 'anonymous');
      return reply.status(201).header('location', `/api/v1/backfills/${created.id}`).send(await shown(created));
    });

    api.get('/:id/backfills', {
      config: { role: 'viewer' },
      schema: { tags: ['backfills'], summary: 'Backfills of a task, newest first', params: IdParams, querystring: ListQuery, response: errors(400, 404) },
    }, async (request) => {
      const { id } = request.params as { id: string };
      const found = await list(request.query as { limit?: string; offset?: string; status?: string }, id);
      // A deleted task's backfills stay listed (like its runs); only a task never seen is a 404.
      if (found.length === 0 && !(await store.getTask(id))) throw taskNotFound(id);
      return found;
    });
  }, { prefix: '/api/v1/tasks' });

  await app.register(async (api) => {
    api.get('/', {
      config: { role: 'viewer' },
      schema: { tags: ['backfills'], summary: 'Backfills of every task, newest first', querystring: ListQuery, response: errors(400) },
    }, async (request) => list(request.query as { limit?: string; offset?: string; status?: string }));

    api.get('/:backfillId', {
      config: { role: 'viewer' },
      schema: { tags: ['backfills'], summary: 'One backfill and its progress', params: BackfillParams, response: errors(400, 404) },
    }, async (request) => {
      const id = Number((request.params as { backfillId: string }).backfillId);
      const backfill = await store.getBackfill(id);
      if (backfill === undefined) throw backfillNotFound(id);
      return shown(backfill);
    });

    api.post('/:backfillId/cancel', {
      config: { role: 'operator' },
      schema: {
        tags: ['backfills'],
        summary: 'Cancel a backfill: no slot of it starts any more; runs in flight finish (status "cancelling" until then, then "cancelled")',
        params: BackfillParams,
        response: errors(400, 404, 409),
      },
    }, async (request) => {
      const id = Number((request.params as { backfillId: string }).backfillId);
      return shown(await backfills.cancel(id, request.caller?.name ?? 'anonymous'));
    });
  }, { prefix: '/api/v1/backfills' });
}
