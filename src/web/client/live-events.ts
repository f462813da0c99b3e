// Follows GET /api/v1/events (server-sent events) and reconnects; read with fetch, not EventSource,
// because EventSource cannot send the Authorization header an API token needs.

import type { ApiClient } from './api-client.js';

export type LiveEvent =
  | { readonly type: 'task:changed'; readonly data: { readonly id: string; readonly change: string } }
  | { readonly type: 'run:started' | 'run:finished'; readonly data: { readonly id: number; readonly taskId: string; readonly status: string; readonly trigger?: string } };

export type LiveState = 'connecting' | 'live' | 'offline';

export interface LiveOptions {
  readonly api: ApiClient;
  readonly onEvent: (event: LiveEvent) => void;
  readonly onState: (state: LiveState) => void;
  /** Called after a reconnection: events may have been missed, so views reload. */
  readonly onResync: () => void;
}

const NAMES = new Set(['task:changed', 'run:started', 'run:finished']);

/** Parses one SSE block ("event: x\ndata: {...}"); comments and unknown names give undefined. */
export function parseBlock(block: string): LiveEvent | undefined {
  let name = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (!NAMES.has(name) || data.length === 0) return undefined;
  try {
    return { type: name, data: JSON.parse(data.join('\n')) } as LiveEvent;
  } catch {
    return undefined;
  }
}

/** Starts following; the returned function stops. */
export function followEvents(options: LiveOptions): () => void {
  const { api, onEvent, onState, onResync } = options;
  let stopped = false;
  let controller: AbortController | undefined;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function connect(): Promise<void> {
    controller = new AbortController();
    onState('connecting');
    try {
      const response = await fetch('/api/v1/events', { headers: api.headers({ accept: 'text/event-stream' }), signal: controller.signal });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onState('live');
      if (attempt > 0) onResync();
      attempt = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = parseBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event) onEvent(event);
        }
      }
    } catch {
      // A failed or dropped connection: retried below.
    }
    if (stopped) return;
    onState('offline');
    attempt += 1;
    // Capped backoff: 1 s, 2 s, 4 s … 30 s; a 401 resolves once the token dialog sets a token.
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
    timer = setTimeout(() => void connect(), delay);
  }

  void connect();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    controller?.abort();
  };
}
