// This replica's database session: a dedicated connection holding an advisory lock that says "alive".

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../lib/logger.js';

/**
 * Every running run a replica starts carries its session key (runs.owner_session). The key is an
 * exclusive session-level advisory lock held by one connection of that replica, so PostgreSQL itself
 * keeps the list of live sessions (pg_locks): the lock goes when the session ends — at once when the
 * process dies (its socket closes), after the keepalives below when the network drops it. Any other
 * replica then finds the key gone and declares that session's runs lost, without waiting for a lease.
 * The key is random per process, so a replica restarted under the same DIRECTOR_INSTANCE_ID has a
 * session of its own and its predecessor's runs are still found dead.
 */
export interface ReplicaSession {
  /** The lock key, a positive 63-bit integer in decimal (as PostgreSQL's bigint takes it). */
  readonly key: string;
  /** True while the lock is held (as far as this process knows: the last probe answered). */
  isLive(): boolean;
  /** Why it is not live, for /ready and logs; undefined while live. */
  downReason(): string | undefined;
  /** Ends the session: the lock goes with it, and other replicas may declare what is still running lost. */
  close(): Promise<void>;
}

export interface ReplicaSessionOptions {
  /** Opens a fresh, not yet connected client (same server, user and application_name as the pool). */
  readonly newClient: () => pg.Client;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /** How often the connection is checked; a probe unanswered for probeTimeoutMs ends it. */
  readonly probeMs?: number;
  readonly probeTimeoutMs?: number;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;

/**
 * The server drops a session whose client stopped answering after idle + interval × count seconds
 * (here ~4 s) rather than the operating system's default of two hours: a replica cut off by the
 * network is then known dead in seconds, as one that crashed is at once.
 */
const SERVER_KEEPALIVE = ['SET tcp_keepalives_idle = 2', 'SET tcp_keepalives_interval = 1', 'SET tcp_keepalives_count = 2'];

export function newSessionKey(): string {
  return BigInt.asUintN(63, randomBytes(8).readBigUInt64BE()).toString();
}

/**
 * Resolves once the first attempt is over; a failed one (server down, or the key still held by this
 * process's previous session that the server has not dropped yet) keeps retrying in the background.
 * The same key is taken again after a reconnection: runs that nobody declared lost meanwhile go on
 * as if nothing happened, and those that were declared lost refuse this replica's outcome (fencing).
 */
export async function openReplicaSession(options: ReplicaSessionOptions, key = newSessionKey()): Promise<ReplicaSession> {
  const { logger } = options;
  const probeMs = options.probeMs ?? 500;
  const probeTimeoutMs = options.probeTimeoutMs ?? 1500;
  let client: pg.Client | undefined;
  let live = false;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let timer: NodeJS.Timeout | undefined;
  let down: { since: number; reason: string } | undefined = { since: Date.now(), reason: 'connecting' };
  let reported = false;

  function lost(from: pg.Client, reason: string): void {
    if (client !== from) return; // an old client reporting late
    client = undefined;
    live = false;
    from.removeAllListeners('error');
    from.on('error', () => undefined);
    from.end().catch(() => undefined);
    if (closed) return;
    down ??= { since: Date.now(), reason };
    down.reason = reason;
    if (!reported) {
      reported = true;
      logger?.warn({ reason }, 'database session lost: other replicas declare this replica\'s running runs lost, and it starts no run ' +
        `until the session is back; reconnecting in ${retryMs} ms`);
    }
    later(connect, retryMs);
    retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
  }

  function later(fn: () => void, ms: number): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fn, ms);
    timer.unref();
  }

  async function connect(): Promise<void> {
    timer = undefined;
    if (closed) return;
    const next = options.newClient();
    client = next;
    // Without an error listener, a dropped connection would be an uncaught exception.
    next.on('error', (error) => lost(next, error.message));
    next.on('end', () => lost(next, 'connection closed'));
    try {
      await next.connect();
      for (const statement of SERVER_KEEPALIVE) await next.query(statement);
      const { rows } = await next.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
      if (rows[0]?.locked !== true) throw new Error('the session lock is still held by this replica\'s previous session (the server has not dropped it yet)');
    } catch (error) {
      lost(next, (error as Error).message);
      return;
    }
    if (closed || client !== next) return;
    if (reported && down !== undefined) logger?.info({ downMs: Date.now() - down.since }, `database session restored after ${Date.now() - down.since} ms; starting runs again`);
    live = true;
    down = undefined;
    reported = false;
    retryMs = FIRST_RETRY_MS;
    later(() => probe(next), probeMs);
  }

  /** A connection the network dropped silently answers nothing: an unanswered probe ends it here too. */
  function probe(current: pg.Client): void {
    timer = undefined;
    if (closed || client !== current) return;
    const deadline = setTimeout(() => lost(current, `no answer from the database within ${probeTimeoutMs} ms`), probeTimeoutMs);
    deadline.unref();
    current.query('SELECT 1').then(
      () => {
        clearTimeout(deadline);
        if (client === current && !closed) later(() => probe(current), probeMs);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        lost(current, (error as Error).message);
      },
    );
  }

  await connect();
  return {
    key,
    isLive: () => live,
    downReason: () => (live || down === undefined ? undefined : `database session lost since ${new Date(down.since).toISOString()}: ${down.reason}`),
    async close() {
      closed = true;
      live = false;
      if (timer !== undefined) clearTimeout(timer);
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    },
  };
}
