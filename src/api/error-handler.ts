// Maps every error to the JSON shape clients know, `{code, message, …}`, where `code` is the HTTP
// status (as the original Director answered) and `error` our catalogue code.

import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DirectorError, isDirectorError } from '../domain/errors.js';

export interface ErrorBody {
  code: number;
  error: string;
  message: string;
  [key: string]: unknown;
}

export function errorBody(error: DirectorError): ErrorBody {
  return { code: error.status, error: error.code, message: error.message, ...error.details };
}

/** Fastify's own errors (body parsing, limits, validation) translated into DirectorErrors. */
function translate(error: FastifyError): DirectorError | undefined {
  if (error.validation && error.validation.length > 0) {
    const first = error.validation[0]!;
    const where = error.validationContext ?? 'body';
    const path = first.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : '';
    const field = path || (first.params && typeof first.params === 'object' && 'missingProperty' in first.params ? String(first.params.missingProperty) : where);
    const code = where === 'querystring' ? 'INVALID_QUERY' : where === 'body' && !path ? 'INVALID_BODY' : 'INVALID_FIELD';
    return new DirectorError(code, `${field}: ${first.message ?? 'is invalid'}`, { field });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DirectorError('BODY_TOO_LARGE', 'the request body is larger than the configured limit (DIRECTOR_BODY_LIMIT)');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new DirectorError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new DirectorError('INVALID_BODY', error.message);
    default:
      break;
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new DirectorError('INVALID_BODY', error.message);
  }
  return undefined;
}

/** How much of an oversize body is read (and dropped) before the 413, at least; and for how long. */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 10_000;

/**
 * Reads the rest of a refused body and drops it. A client writes its whole body before it reads the
 * answer: closing the connection under it would give it EPIPE instead of the 413. Bounded in bytes and
 * time; past the bound the connection is closed anyway.
 */
function drain(raw: IncomingMessage, maxBytes: number): Promise<void> {
  if (raw.readableEnded || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', done).off('error', done).off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, DRAIN_MAX_MS);
    raw.on('data', onData).on('end', done).on('error', done).on('close', done);
    raw.resume();
  });
}

export function installErrorHandling(app: FastifyInstance, options: { readonly drainMaxBytes?: number } = {}): void {
  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known = isDirectorError(error) ? error : translate(error);
    if (known) {
      request.log.info({ err: { code: known.code, message: known.message } }, 'request rejected');
      if (known.status === 413) {
        await drain(request.raw, options.drainMaxBytes ?? DRAIN_MAX_BYTES);
        reply.header('connection', 'close');
      }
      return reply.status(known.status).send(errorBody(known));
    }
    request.log.error({ err: error }, 'request failed unexpectedly; answered 500');
    return reply.status(500).send({ code: 500, error: 'INTERNAL', message: 'Director failed to handle this request; see its logs' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ code: 404, error: 'NOT_FOUND', message: 'Not Found', path: request.url.split('?')[0] });
  });
}
