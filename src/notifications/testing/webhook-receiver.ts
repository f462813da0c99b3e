// A real HTTP receiver on loopback for notification tests: records every request and answers with the
// statuses it is given, in order (the last one repeats).

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCall {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: any;
}

export interface WebhookReceiver {
  /** Base URL, e.g. http://127.0.0.1:40123 (append any path). */
  readonly url: string;
  readonly calls: ReceivedCall[];
  /** Statuses of the next answers; the last one repeats. Default 200. */
  answer(...statuses: number[]): void;
  /** Resolves once `count` calls have arrived (those already in count). */
  received(count: number, timeoutMs?: number): Promise<ReceivedCall[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const calls: ReceivedCall[] = [];
  let statuses: number[] = [200];
  const waiters: Array<() => void> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      calls.push({ path: request.url ?? '', headers: request.headers, body });
      const status = statuses.length > 1 ? statuses.shift()! : statuses[0]!;
      response.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    answer(...next) {
      statuses = next.length > 0 ? next : [200];
    },
    async received(count, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (calls.length < count) {
        if (Date.now() > until) throw new Error(`expected ${count} webhook calls, got ${calls.length}: ${JSON.stringify(calls.map((c) => c.body?.event ?? c.path))}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return calls.slice(0, count);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
