// PostgreSQL store timings: node --import tsx bench/store-postgres.ts  (DIRECTOR_BENCH_DATABASE_URL overrides the local default)

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseTask, type Task } from '../src/domain/task.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';

const url = process.env.DIRECTOR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `director_bench_${randomBytes(4).toString('hex')}`;
const T0 = Date.UTC(2030, 0, 1);

function task(id: string, n = 42): Task {
  return parseTask(
    { id, script: 'https://assets.test/api/v1/public/director/hello.js', running: true, init: T0, interval: 60_000, config: { course: id, n }, tags: { keyValue: { type: 'course' } } },
    { fallbackId: id, createdMs: T0, nowMs: T0 },
  );
}

async function timed(label: string, unit: 'µs' | 'ms', runs: number, body: (i: number) => Promise<unknown>): Promise<void> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await body(i);
  const ns = Number(process.hrtime.bigint() - start) / runs;
  console.log(`${label.padEnd(44)} ${(unit === 'µs' ? ns / 1e3 : ns / 1e6).toFixed(unit === 'µs' ? 1 : 2).padStart(9)} ${unit}  (mean of ${runs})`);
}

const store = await openPostgresStore({ url, schema });
try {
  await timed('putTask (new task)', 'µs', 1000, (i) => store.putTask(task(`t-${i}`)));
  await timed('putTask (replace)', 'µs', 1000, (i) => store.putTask(task(`t-${i}`, i)));
  await timed('getTask', 'µs', 5000, (i) => store.getTask(`t-${i % 1000}`));
  await timed('claimSlots, 1,000 slots in one batch', 'ms', 5, async (round) => {
    const claims = Array.from({ length: 1000 }, (_, k) => ({ taskId: 't-1', slot: T0 + (round * 1000 + k) * 60_000, owner: 'bench', nowMs: T0, leaseMs: 30_000 }));
    if ((await store.claimSlots(claims)).length !== 1000) throw new Error('a fresh slot was not won');
  });
  for (let i = 1000; i < 10_000; i++) await store.putTask(task(`t-${i}`));
  await timed('listTasks, 10,000 tasks', 'ms', 10, async () => {
    if ((await store.listTasks()).length !== 10_000) throw new Error('listTasks lost tasks');
  });
  await timed('listTasks, 10,000 tasks, one ?field= filter', 'ms', 10, () => store.listTasks({ filter: { id: 't-5000' } }));
  await timed('open (and close), 10,000 tasks stored', 'ms', 10, async () => (await openPostgresStore({ url, schema })).close());
} finally {
  await store.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  await client.end();
}
