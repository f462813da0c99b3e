// Running scripts over HTTP: run now (COMPAT 17), test a script (COMPAT 18), and run history.

import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { DirectorError } from '../../domain/errors.js';
import { endColumns, type RunError, type RunRecord } from '../../domain/run.js';
import type { ApiDeps } from '../app.js';
import { errors, IdParams, PageQuery, pageOf } from '../schemas.js';
import { taskNotFound } from '../../tasks/task-writes.js';
import { maskUrlPasswords } from '../mask-secrets.js';

/** A run as the API shows it: ISO dates beside epoch ms, the result parsed back to JSON. */
export function publicRun(run: RunRecord) {
  let result: unknown = null;
  if (run.result !== null) {
    try {
      result = JSON.parse(run.result);
    } catch {
      result = run.result;
    }
  }
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    ...run,
    result,
    slotAt: iso(run.slot),
    queuedAt: iso(run.queuedMs),
    startedAt: iso(run.startedMs),
    finishedAt: iso(run.finishedMs),
    /** From queued to main() entered: waiting for a place, fetching the script, starting a worker. */
    queueWaitMs: run.queuedMs === null || run.startedMs === null ? null : run.startedMs - run.queuedMs,
  };
}

/** Runs read from the store per query while a page is built: bounds the memory of one page. */
const RUNS_PER_READ = 10;

/** A run of a list: without result and logs unless included (each may be large). */
function listedRun(run: RunRecord, include: ReadonlySet<string>, role: string | undefined): Record<string, unknown> {
  const { result, logs, ...rest } = shownTo(publicRun(run), role);
  return { ...rest, ...(include.has('result') ? { result } : {}), ...(include.has('logs') ? { logs } : {}) };
}

/** Viewers do not see URL passwords (a script URL may carry one, and fetch errors quote it). */
function shownTo<T extends ReturnType<typeof publicRun>>(run: T, role: string | undefined): T {
  if (role === 'operator' || role === 'admin') return run;
  return {
    ...run,
    scriptUrl: run.scriptUrl === null ? null : maskUrlPasswords(run.scriptUrl),
    error: run.error === null ? null : { ...run.error, message: maskUrlPasswords(run.error.message), ...(run.error.stack ? { stack: maskUrlPasswords(run.error.stack) } : {}) },
  };
}

interface Ended {
  readonly status: string;
  readonly result: string | null;
  readonly error: RunError | null;
  readonly logs: string | null;
  readonly runId?: number;
}

/** Why a run is answered as a failure; `main` returning undefined counts as one for /run and /test. */
function failureOf(ended: Ended): RunError {
  return ended.error ?? (ended.status === 'succeeded'
    ? { stage: 'run', name: 'UndefinedResult', message: 'main() returned undefined: return a JSON value (or null) to report a result' }
    : { stage: 'run', name: 'Error', message: `the run ended as ${ended.status}` });
}

/**
 * COMPAT 19: a result is sent as its JSON (a string as JSON.stringify(s)); undefined, a failure or a
 * timeout is a 500 whose message is readable and names the failing stage.
 */
function sendEnded(reply: FastifyReply, ended: Ended, details: boolean): FastifyReply {
  const runId = ended.runId === undefined ? {} : { runId: ended.runId };
  if (details) {
    // ?details=true (the dashboard): the whole outcome, logs included, even on success.
    const ok = ended.status === 'succeeded' && ended.result !== null;
    const failure = ok ? null : failureOf(ended);
    return reply.status(ok ? 200 : 500).send({
      status: ended.status,
      result: ended.result === null ? null : JSON.parse(ended.result),
      error: failure,
      ...(failure ? { message: `${failure.stage} failed: ${failure.message}`, stage: failure.stage } : {}),
      logs: ended.logs ?? '',
      ...runId,
    });
  }
  if (ended.status === 'succeeded' && ended.result !== null) {
    return reply.status(200).type('application/json').header('x-director-run-status', 'succeeded').send(ended.result);
  }
  const error = failureOf(ended);
  return reply.status(500).header('x-director-run-status', ended.status).send({
    code: 500,
    error: 'SCRIPT_FAILED',
    message: `${error.stage} failed: ${error.message}`,
    stage: error.stage,
    name: error.name,
    status: ended.status,
    ...(error.stack ? { stack: error.stack } : {}),
    logs: ended.logs ?? '',
    ...runId,
  });
}

export async function taskRunRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, config } = deps;

  function runner() {
    if (!deps.runner) throw new DirectorError('RUNNER_UNAVAILABLE', 'runner not available');
    return deps.runner;
  }

  const wantsDetails = (query: unknown) => {
    const value = (query as { details?: string } | undefined)?.details;
    return value === 'true' || value === '1';
  };

  const runNow = async (request: { params: unknown; query: unknown }, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    const task = await store.getTask(id);
    if (!task) throw taskNotFound(id);
    const run = await runner().runNow(task);
    return sendEnded(reply, { status: run.status, result: run.result, error: run.error, logs: run.logs, runId: run.id }, wantsDetails(request.query));
  };
  const runSchema = { tags: ['runs'], summary: 'Run a task now and answer its result', params: IdParams, response: errors(404, 503) };
  api.post('/:id/run', { config: { role: 'operator' }, schema: runSchema }, runNow);
  api.put('/:id/run', { config: { role: 'operator' }, schema: runSchema }, runNow);

  api.post('/test', {
    config: { role: 'admin' },
    schema: {
      tags: ['runs'],
      summary: 'Run script text with a config; nothing is stored',
      body: Type.Object({ scriptText: Type.String(), scriptConfig: Type.Optional(Type.Unknown()) }, { additionalProperties: true }),
      response: errors(400, 404, 503),
    },
  }, async (request, reply) => {
    if (!config.testEndpoint) throw new DirectorError('TEST_ENDPOINT_DISABLED', 'POST /api/v1/tasks/test is disabled on this Director (DIRECTOR_TEST_ENDPOINT=off)');
    const { scriptText, scriptConfig } = request.body as { scriptText: string; scriptConfig?: unknown };
    const report = await runner().runTest(scriptText, scriptConfig === undefined ? {} : scriptConfig);
    return sendEnded(reply, endColumns(report), wantsDetails(request.query));
  });

  api.get('/:id/runs', {
    config: { role: 'viewer' },
    schema: {
      tags: ['runs'],
      summary: 'Run history of a task, newest first; results and logs only with ?include=result,logs',
      params: IdParams,
      querystring: Type.Intersect([PageQuery, Type.Object({ include: Type.Optional(Type.String({ pattern: '^((result|logs)(,(result|logs))*)?$' })) })]),
      response: errors(400, 404),
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const query = request.query as { limit?: string; offset?: string; include?: string };
    const page = pageOf(query, 50, 1000);
    const include = new Set((query.include ?? '').split(',').filter(Boolean));
    const listed = await listRunsWithin(id, page, config.runsPageMaxBytes, (run) => listedRun(run, include, request.caller?.role));
    if (listed.runs.length === 0 && page.offset === 0 && !(await store.getTask(id))) throw taskNotFound(id);
    return { id, ...page, runs: listed.runs, ...(listed.nextOffset === undefined ? {} : { truncated: true, nextOffset: listed.nextOffset }) };
  });

  /**
   * Reads a page of runs a few at a time and stops before it passes `maxBytes` (always keeping one run,
   * so that paging goes on): a run may hold a megabyte of result and a quarter of logs, and 1,000 of
   * them would otherwise be read and answered in one piece.
   */
  async function listRunsWithin(
    taskId: string,
    page: { limit: number; offset: number },
    maxBytes: number,
    shape: (run: RunRecord) => Record<string, unknown>,
  ): Promise<{ runs: Array<Record<string, unknown>>; nextOffset?: number }> {
    const runs: Array<Record<string, unknown>> = [];
    let bytes = 0;
    while (runs.length < page.limit) {
      const offset = page.offset + runs.length;
      const chunk = await store.listRuns(taskId, { limit: Math.min(RUNS_PER_READ, page.limit - runs.length), offset });
      for (const run of chunk) {
        const shown = shape(run);
        bytes += Buffer.byteLength(JSON.stringify(shown)) + 1;
        if (bytes > maxBytes && runs.length > 0) return { runs, nextOffset: page.offset + runs.length };
        runs.push(shown);
      }
      if (chunk.length < RUNS_PER_READ) break;
    }
    return { runs };
  }

  api.get('/:id/runs/:runId', {
    config: { role: 'viewer' },
    schema: {
      tags: ['runs'],
      summary: 'One run with its result, error and logs',
      params: Type.Object({ id: Type.String({ maxLength: 1000 }), runId: Type.String({ pattern: '^\\d{1,15}$' }) }),
      response: errors(400, 404),
    },
  }, async (request) => {
    const { id, runId } = request.params as { id: string; runId: string };
    const run = await store.getRun(Number(runId));
    if (!run || run.taskId !== id) throw new DirectorError('NOT_FOUND', 'Not Found', { id, runId: Number(runId) });
    return shownTo(publicRun(run), request.caller?.role);
  });
}
