// Picks, per request, how a task is shown: masked for viewer tokens (see mask-secrets.ts), as stored otherwise.

import type { FastifyRequest } from 'fastify';
import type { TaskDoc } from '../domain/task.js';
import { createDocMasker } from './mask-secrets.js';

const asStored = (doc: TaskDoc): TaskDoc => doc;

export function viewerMasking(maskKeys: string | null): (request: FastifyRequest) => (doc: TaskDoc) => TaskDoc {
  const masked = createDocMasker(maskKeys);
  // Fails closed: a request without a known operator or admin caller sees the masked task.
  return (request) => (request.caller?.role === 'operator' || request.caller?.role === 'admin' ? asStored : masked);
}
