// SQLite store timings: node --import tsx bench/store-sqlite.ts  (prints one line per figure)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { sampleTask, T0 } from './support/sample-task.js';
import { timed } from './support/timed.js';

const dir = mkdtempSync(path.join(tmpdir(), 'director-bench-sqlite-'));

async function fill(store: Store, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++) await store.putTask(sampleTask(`${prefix}-${i}`));
}

try {
  // Each file is warmed with 2,000 tasks first: the first writes also grow the WAL file, which costs
  // more than the steady state where the WAL is reused after each checkpoint.
  const full = await openSqliteStore({ file: path.join(dir, 'full.db') });
  await fill(full, 2000, 'warm');
  await timed('putTask, synchronous=FULL (new task)', 'µs', 1000, (i) => full.putTask(sampleTask(`full-${i}`)));
  await timed('putTask, synchronous=FULL (replace)', 'µs', 1000, (i) => full.putTask(sampleTask(`full-${i}`, i)));
  await timed('getTask (3,000 stored)', 'µs', 20_000, (i) => full.getTask(`full-${i % 1000}`));
  await timed('claimSlots, 1,000 slots in one batch (FULL)', 'ms', 5, async (round) => {
    const claims = Array.from({ length: 1000 }, (_, k) => ({ taskId: 'full-1', slot: T0 + (round * 1000 + k) * 60_000, owner: 'bench', nowMs: T0, leaseMs: 30_000 }));
    if ((await full.claimSlots(claims)).length !== 1000) throw new Error('a fresh slot was not won');
  });
  await full.close();

  const normal = await openSqliteStore({ file: path.join(dir, 'normal.db'), synchronous: 'NORMAL' });
  await fill(normal, 2000, 'warm');
  await timed('putTask, synchronous=NORMAL (new task)', 'µs', 1000, (i) => normal.putTask(sampleTask(`normal-${i}`)));
  await timed('putTask, synchronous=NORMAL (replace)', 'µs', 1000, (i) => normal.putTask(sampleTask(`normal-${i}`, i)));
  await normal.close();

  const listed = await openSqliteStore({ file: path.join(dir, 'list.db'), synchronous: 'NORMAL' });
  await fill(listed, 10_000, 'list');
  await timed('listTasks, 10,000 tasks', 'ms', 10, async () => {
    if ((await listed.listTasks()).length !== 10_000) throw new Error('listTasks lost tasks');
  });
  await timed('listTasks, 10,000 tasks, one ?field= filter', 'ms', 10, () => listed.listTasks({ filter: { id: 'list-5000' } }));
  await listed.close();

  const bigFile = path.join(dir, 'big.db');
  const big = await openSqliteStore({ file: bigFile, synchronous: 'NORMAL' });
  await fill(big, 100_000, 'big');
  await big.close();
  await timed('open (and close), 100,000 tasks stored', 'ms', 10, async () => (await openSqliteStore({ file: bigFile })).close());
} finally {
  rmSync(dir, { recursive: true, force: true });
}
