// Picks, per request, how a task is shown: masked for viewer tokens (see mask-secrets.ts), as stored
// otherwise — except webhook URLs (`notify.webhooks`), which nobody sees whole: they carry their secret,
// and writes give masked ones back their stored URL (domain/notify-settings.ts).

import type { FastifyRequest } from 'fastify';
import { maskNotifyWebhooks } from '../domain/notify-settings.js';
import type { TaskDoc } from '../domain/task.js';
import { createDocMasker } from './mask-secrets.js';

/** How operators and admins see a task: as stored, webhook URLs masked. */
export const asAnswered = (doc: TaskDoc): TaskDoc => maskNotifyWebhooks(doc);

export function viewerMasking(maskKeys: string | null): (request: FastifyRequest) => (doc: TaskDoc) => TaskDoc {
  const masker = createDocMasker(maskKeys);
  const masked = (doc: TaskDoc): TaskDoc => masker(maskNotifyWebhooks(doc));
  // Fails closed: a request without a known operator or admin caller sees the masked task.
  return (request) => (request.caller?.role === 'operator' || request.caller?.role === 'admin' ? asAnswered : masked);
}
