// What a client was told is stored survives a crash: 50 concurrent POSTs, SIGKILL, restart (COMPAT 12),
// under both sync modes: normal gives up only power-cut safety, never crash safety.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDirectorProcess } from './support/director-process.js';

for (const sync of ['full', 'normal'] as const) describe(`durability with DIRECTOR_SQLITE_SYNC=${sync}`, () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'director-durable-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every acknowledged task after kill -9', async () => {
    const first = await startDirectorProcess({ DIRECTOR_DATA_DIR: dataDir, DIRECTOR_SQLITE_SYNC: sync });
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(`${first.url}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: `durable-${i}`, script: 'hello.js', running: i % 2 === 0, interval: 3_600_000, config: { i } }),
    })));
    assert.deepEqual(responses.map((r) => r.status), Array(50).fill(200));
    assert.match(first.output(), new RegExp(`"sync":"${sync}"`), 'Director runs in the sync mode asked for');
    first.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');

    const second = await startDirectorProcess({ DIRECTOR_DATA_DIR: dataDir, DIRECTOR_SQLITE_SYNC: sync });
    try {
      const list = (await (await fetch(`${second.url}/api/v1/tasks`)).json()) as Array<{ id: string; config: { i: number } }>;
      assert.equal(list.length, 50);
      for (let i = 0; i < 50; i++) assert.deepEqual(list.find((t) => t.id === `durable-${i}`)?.config, { i });
    } finally {
      second.kill('SIGTERM');
      assert.equal(await second.exited, 0, second.output());
    }
  });
});
