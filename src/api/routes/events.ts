// GET /api/v1/events: task changes and run starts/ends as server-sent events, for the live dashboard.

import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { RunRecord } from '../../domain/run.js';
import type { ApiDeps } from '../app.js';
import { maskUrlPasswords } from '../mask-secrets.js';

export const HEARTBEAT_MS = 15_000;

/**
 * A run as the stream sends it: no result and no logs (each may be up to a megabyte and a dashboard
 * with many tabs open would receive them all); the client fetches /runs/{runId} when it wants them.
 */
function runSummary(run: RunRecord) {
  return {
    id: run.id,
    taskId: run.taskId,
    slot: run.slot,
    attempt: run.attempt,
    trigger: run.trigger,
    status: run.status,
    startedMs: run.startedMs,
    finishedMs: run.finishedMs,
    durationMs: run.durationMs,
    latenessMs: run.latenessMs,
    // Viewers read this stream: a fetch error quotes the script URL, whose password must not reach them.
    error: run.error && { stage: run.error.stage, name: run.error.name, message: maskUrlPasswords(run.error.message) },
  };
}

export async function eventRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { events } = deps;
  // Open streams never end on their own: without this, app.close() would wait for every browser tab.
  const open = new Set<ServerResponse>();
  app.addHook('preClose', (done) => {
    for (const stream of open) stream.end();
    done();
  });

  app.get('/api/v1/events', {
    config: { role: 'viewer' },
    schema: { tags: ['operations'], summary: 'Live events (text/event-stream): task:changed, run:started, run:finished' },
  }, (request, reply) => {
    const raw = reply.raw;
    // Headers set by earlier hooks (CORS) are kept: the reply is written by hand from here on.
    reply.hijack();
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream until it ends.
      'x-accel-buffering': 'no',
    });
    const send = (name: string, data: unknown) => {
      raw.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    raw.write(`retry: 3000\n: connected\n\n`);
    open.add(raw);

    const offs = [
      events.on('task:changed', (change) => send('task:changed', change)),
      events.on('run:started', (run) => send('run:started', runSummary(run))),
      events.on('run:finished', (run) => send('run:finished', runSummary(run))),
    ];
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), HEARTBEAT_MS);
    heartbeat.unref();

    let closed = false;
    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      for (const off of offs) off();
      open.delete(raw);
    };
    request.raw.on('close', cleanup);
    raw.on('close', cleanup);
    raw.on('error', cleanup);
  });
}
