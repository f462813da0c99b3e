// A throw-away PostgreSQL database for a benchmark, and the CPU time of the PostgreSQL server's processes.

import { readdirSync, readFileSync } from 'node:fs';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/scratch-database.js';

/** DIRECTOR_BENCH_DATABASE_URL names the server (any database on it); a fresh database is created there. */
export const benchServerUrl = process.env.DIRECTOR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type BenchDatabase = ScratchDatabase;

export function createBenchDatabase(label: string): Promise<BenchDatabase> {
  return createScratchDatabase(benchServerUrl, `director_bench_${label}`);
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
