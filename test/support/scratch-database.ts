// A throw-away PostgreSQL database, and one-off connections to a server, for tests and benchmarks alike.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from '../../src/lib/logger.js';

export interface ScratchDatabase {
  /** The new database's URL: what a replica gets as DIRECTOR_DATABASE_URL. */
  readonly url: string;
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/**
 * Runs `body` on a connection of its own, closed afterwards. A server that is down fails within 5 s with
 * a message that says what to do: the PostgreSQL tests and benchmarks do not skip without one.
 */
export async function withClient<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${redactUrl(url)} (${(error as Error).message}); start it (npm test does) or set DIRECTOR_TEST_DATABASE_URL (tests) or DIRECTOR_BENCH_DATABASE_URL (benchmarks). These do not skip.`);
  }
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE <prefix>_<random> on the server at `serverUrl`; drop() removes it (and its sessions). */
export async function createScratchDatabase(serverUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    query: (text, values = []) => withClient(url.href, async (client) => (await client.query(text, values)).rows),
    drop: () => withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
}
