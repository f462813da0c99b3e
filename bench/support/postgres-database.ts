// A throw-away PostgreSQL database for a benchmark, and the CPU time of the PostgreSQL server's processes.

import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/** DIRECTOR_BENCH_DATABASE_URL names the server (any database on it); a fresh database is created there. */
export const benchServerUrl = process.env.DIRECTOR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  readonly url: string;
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

async function once<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `director_bench_${label}_${randomBytes(4).toString('hex')}`;
  await once(benchServerUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = new URL(benchServerUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    query: (text, values = []) => once(url.href, async (client) => (await client.query(text, values)).rows),
    drop: () => once(benchServerUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Linux clock ticks per second (USER_HZ): 100 on every mainstream kernel. */
const CLK_TCK = 100;

/**
 * user + system CPU ms of every process named `postgres` on this machine (the server and its backends,
 * those that ended meanwhile excepted): the benchmark is the only client while it measures.
 */
export function postgresCpuMs(): number {
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // ended while we looked
    }
  }
  return (ticks * 1000) / CLK_TCK;
}
