// A keep-alive JSON client for driving Director's API from benchmarks.

import { Agent, request } from 'node:http';

export interface JsonClient {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }>;
  /** Runs `count` calls with at most `concurrency` in flight; throws on the first non-2xx. */
  many(count: number, concurrency: number, make: (i: number) => { method: string; path: string; body?: unknown; onAnswer?: () => void }): Promise<void>;
  close(): void;
}

export function jsonClient(base: URL): JsonClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  function call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
      const req = request({ host: base.hostname, port: base.port, path, method, agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { text += chunk; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
  return {
    call,
    async many(count, concurrency, make) {
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          const { method, path, body, onAnswer } = make(next++);
          const answer = await call(method, path, body);
          if (answer.status < 200 || answer.status >= 300) throw new Error(`${method} ${path} → ${answer.status}: ${answer.text.slice(0, 300)}`);
          onAnswer?.();
        }
      }));
    },
    close: () => agent.destroy(),
  };
}
