// Request ids: a caller's x-request-id is kept when it is a sane token, else one is generated; every
// log line of the request carries it (Fastify's reqId) and every response echoes it.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

// Anything else (control or non-ASCII characters, kilobytes of text) would be echoed into a response
// header, where Node throws on invalid characters, and into every log line of the request.
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Fastify's genReqId: honours a sane incoming x-request-id. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  const value = Array.isArray(given) ? given[0] : given;
  return value !== undefined && SANE_ID.test(value) ? value : randomUUID();
}

export function installRequestIdEcho(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });
}
