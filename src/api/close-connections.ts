// Shutdown must not wait for clients' keep-alive connections: once app.close() has begun, every answer
// still being sent (a /run that the grace period let finish) closes its connection behind it.
// Idle connections are closed by Fastify itself (forceCloseConnections: 'idle'); busy ones become
// idle only after close() looked, and would otherwise hold the process until the client lets go.

import type { FastifyInstance } from 'fastify';

export function installCloseConnectionsOnClose(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
}
