// Who the caller is, for the dashboard: it shows the name and hides what the role may not do.

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ANONYMOUS } from '../auth.js';
import { errors } from '../schemas.js';

export async function whoamiRoutes(app: FastifyInstance): Promise<void> {
  app.get('/api/v1/whoami', {
    config: { role: 'viewer' },
    schema: {
      tags: ['operations'],
      summary: 'The caller: token name and role ({name:"anonymous", role:"admin", auth:false} without tokens)',
      response: {
        200: Type.Object({ name: Type.String(), role: Type.String(), auth: Type.Boolean() }),
        ...errors(401),
      },
    },
  }, async (request) => {
    const caller = request.caller ?? ANONYMOUS;
    return { name: caller.name, role: caller.role, auth: caller.auth };
  });
}
