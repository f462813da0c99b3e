// LISTEN for task writes of other replicas on a dedicated connection that reconnects with capped backoff.

import pg from 'pg';
import type { Logger } from '../../lib/logger.js';
import type { TaskChangeNotice } from '../store.js';

export interface TaskChangeWatchOptions {
  /** Opens a fresh, not yet connected client (same server, user and application_name as the pool). */
  readonly newClient: () => pg.Client;
  readonly channel: string;
  /** This replica's instance id: its own writes are already re-planned locally, so they are ignored. */
  readonly origin: string;
  /** Key of the shared advisory lock that marks this replica as live (see liveReplicas). */
  readonly replicaLock: readonly [number, number];
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  readonly listener: (notice: TaskChangeNotice) => void;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

interface Payload {
  readonly id?: unknown;
  readonly change?: unknown;
  readonly origin?: unknown;
  /** Set instead of `id` when a replica stops claiming (see PostgresStore.watchTaskChanges). */
  readonly replicas?: unknown;
}

const CHANGES = new Set(['created', 'replaced', 'deleted', 'ended']);

/**
 * Resolves once the first connection attempt is over (a failed one keeps retrying in the background).
 * After every successful (re)connection the listener gets `{kind: 'all'}`: notifications are not
 * queued for a listener that is away, so whatever was written meanwhile must be re-read.
 */
export async function watchTaskChanges(options: TaskChangeWatchOptions): Promise<() => Promise<void>> {
  const { logger, listener } = options;
  let stopped = false;
  let client: pg.Client | undefined;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let downSince: number | undefined;

  function onNotification(message: pg.Notification): void {
    if (message.channel !== options.channel || message.payload === undefined) return;
    let payload: Payload;
    try {
      payload = JSON.parse(message.payload) as Payload;
    } catch {
      return;
    }
    if (payload.origin === options.origin) return;
    if (payload.replicas !== undefined) {
      listener({ kind: 'replicas' });
      return;
    }
    if (typeof payload.id !== 'string') return;
    const change = typeof payload.change === 'string' && CHANGES.has(payload.change) ? payload.change : 'replaced';
    listener({ kind: 'task', id: payload.id, change: change as Extract<TaskChangeNotice, { kind: 'task' }>['change'] });
  }

  function lost(from: pg.Client, error: Error | undefined): void {
    if (client !== from) return; // an old client reporting late
    client = undefined;
    from.removeAllListeners('notification');
    from.end().catch(() => undefined);
    if (stopped) return;
    if (downSince === undefined) {
      downSince = Date.now();
      logger?.warn({ err: error }, `task change notifications lost; re-listening in ${retryMs} ms (a full re-read follows, so no change is missed)`);
    }
    retryTimer = setTimeout(() => void connect(), retryMs);
    retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
  }

  async function connect(): Promise<void> {
    retryTimer = undefined;
    if (stopped) return;
    const next = options.newClient();
    client = next;
    // Without an error listener, a dropped connection would be an uncaught exception.
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next, undefined));
    next.on('notification', onNotification);
    try {
      await next.connect();
      await next.query(`LISTEN ${next.escapeIdentifier(options.channel)}`);
      await next.query('SELECT pg_advisory_lock_shared($1, $2)', [...options.replicaLock]);
    } catch (error) {
      lost(next, error as Error);
      return;
    }
    if (stopped || client !== next) return;
    if (downSince !== undefined) logger?.info({ downMs: Date.now() - downSince }, 'task change notifications restored; re-reading every task');
    downSince = undefined;
    retryMs = FIRST_RETRY_MS;
    listener({ kind: 'all' });
  }

  await connect();
  return async () => {
    stopped = true;
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    const last = client;
    client = undefined;
    // Unlocked before the connection ends, so that a replica re-reading the live replicas right after
    // (told by the store that this one leaves) no longer finds it, whenever the server ends the backend.
    await last?.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await last?.end().catch(() => undefined);
  };
}
