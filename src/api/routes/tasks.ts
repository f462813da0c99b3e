// Task CRUD under /api/v1/tasks, with the original Director's status codes and bodies (COMPAT 4–12).

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { DirectorError } from '../../domain/errors.js';
import type { ApiDeps } from '../app.js';
import { errors, IdParams, PageQuery, pageOf, TaskBody } from '../schemas.js';
import { taskNotFound } from '../../tasks/task-writes.js';
import { asAnswered, viewerMasking } from '../viewer-masking.js';

const FILTER_FIELD = /^[A-Za-z_$][A-Za-z0-9_$-]{0,99}$/;
const MAX_PAGE = 100_000;
/**
 * Most `?field=` filters in one request. Each distinct count is a query of its own (prepared and kept by
 * the store), so an unbounded count let one client grow Director's memory by a statement per request.
 */
export const MAX_FILTERS = 16;

/** `?field=value` filters: top-level string fields of the task; `limit`/`offset` paginate. */
function listQuery(query: Record<string, unknown>) {
  const filter: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of Object.entries(query)) {
    if (key === 'limit' || key === 'offset') continue;
    if (++count > MAX_FILTERS) throw new DirectorError('INVALID_QUERY', `${key}: at most ${MAX_FILTERS} filters per request`, { field: key });
    if (!FILTER_FIELD.test(key)) throw new DirectorError('INVALID_QUERY', `${key}: not a filterable field name`, { field: key });
    if (typeof value !== 'string') throw new DirectorError('INVALID_QUERY', `${key}: give the filter once`, { field: key });
    filter[key] = value;
  }
  return filter;
}

export async function taskRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, tasks: writes } = deps;
  const maskFor = viewerMasking(deps.config.maskKeys);

  api.get('/', {
    config: { role: 'viewer' },
    schema: { tags: ['tasks'], summary: 'List tasks (filter with ?field=value)', querystring: PageQuery, response: errors(400) },
  }, async (request, reply) => {
    const query = request.query as Record<string, unknown> & { limit?: string; offset?: string };
    const filter = listQuery(query);
    const page = query.limit === undefined && query.offset === undefined ? {} : pageOf(query, MAX_PAGE, MAX_PAGE);
    const tasks = await store.listTasks({ filter, ...page });
    // Docs are serialised as stored: the client's JSON verbatim (secrets masked for viewers).
    const shown = maskFor(request);
    return reply.type('application/json').send(`[${tasks.map((t) => JSON.stringify(shown(t.doc))).join(',')}]`);
  });

  api.get('/:id', {
    config: { role: 'viewer' },
    schema: { tags: ['tasks'], summary: 'Get a task', params: IdParams, response: errors(404) },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const task = await store.getTask(id);
    if (!task) throw taskNotFound(id);
    return reply.type('application/json').send(JSON.stringify(maskFor(request)(task.doc)));
  });

  api.post('/', {
    config: { role: 'admin' },
    schema: {
      tags: ['tasks'],
      summary: 'Create a task, or replace the task with the same id (upsert)',
      body: TaskBody,
      response: errors(400, 413, 502),
    },
  }, async (request, reply) => {
    const { task } = await writes.post(request.body);
    return reply.type('application/json').send(JSON.stringify(asAnswered(task.doc)));
  });

  api.put('/:id', {
    config: { role: 'admin' },
    schema: { tags: ['tasks'], summary: 'Replace a task', params: IdParams, body: TaskBody, response: errors(400, 404, 413, 502) },
  }, async (request) => {
    const { id } = request.params as { id: string };
    await writes.put(id, request.body);
    return { code: 201, message: 'Updated' };
  });

  api.delete('/:id', {
    config: { role: 'admin' },
    schema: {
      tags: ['tasks'],
      summary: 'Delete a task (its run history stays)',
      params: IdParams,
      response: { 202: Type.Object({ code: Type.Integer(), message: Type.String() }), ...errors(404) },
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await writes.remove(id);
    reply.status(202);
    return { code: 202, message: 'Deleted' };
  });
}
