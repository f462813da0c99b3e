// PostgreSQL store timings: node --import tsx bench/store-postgres.ts  (DIRECTOR_BENCH_DATABASE_URL overrides the local default)

import { randomBytes } from 'node:crypto';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { withClient } from '../test/support/scratch-database.js';
import { benchServerUrl as url } from './support/postgres-database.js';
import { sampleTask, T0 } from './support/sample-task.js';
import { timed } from './support/timed.js';

const schema = `director_bench_${randomBytes(4).toString('hex')}`;

const store = await openPostgresStore({ url, schema });
try {
  await timed('putTask (new task)', 'µs', 1000, (i) => store.putTask(sampleTask(`t-${i}`)));
  await timed('putTask (replace)', 'µs', 1000, (i) => store.putTask(sampleTask(`t-${i}`, i)));
  await timed('getTask', 'µs', 5000, (i) => store.getTask(`t-${i % 1000}`));
  await timed('claimSlots, 1,000 slots in one batch', 'ms', 5, async (round) => {
    const claims = Array.from({ length: 1000 }, (_, k) => ({ taskId: 't-1', slot: T0 + (round * 1000 + k) * 60_000, owner: 'bench', nowMs: T0, leaseMs: 30_000 }));
    if ((await store.claimSlots(claims)).length !== 1000) throw new Error('a fresh slot was not won');
  });
  for (let i = 1000; i < 10_000; i++) await store.putTask(sampleTask(`t-${i}`));
  await timed('listTasks, 10,000 tasks', 'ms', 10, async () => {
    if ((await store.listTasks()).length !== 10_000) throw new Error('listTasks lost tasks');
  });
  await timed('listTasks, 10,000 tasks, one ?field= filter', 'ms', 10, () => store.listTasks({ filter: { id: 't-5000' } }));
  await timed('open (and close), 10,000 tasks stored', 'ms', 10, async () => (await openPostgresStore({ url, schema })).close());
} finally {
  await store.close();
  await withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`));
}
