// Backfill benchmark against a real Director process (dist/, embedded SQLite, default sync): how long
// 1,000 slots take from the request to `completed`, one at a time and eight at a time, per policy.
// The script reports each slot to a loopback recorder, so the figures count executions, not rows.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { executionsBySlot, REPORTING_SCRIPT, startFetchRecorder } from './support/fetch-recorder.js';
import { startDirector } from './support/director-process.js';
import { jsonClient } from './support/http-client.js';
import { round, type BenchResult, type BenchScenario } from './support/scenario.js';

const SLOTS = 1000;
const MINUTE = 60_000;

async function backfillBenchmark(policy: 'strict' | 'trusted'): Promise<BenchResult> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'director-bench-backfill-'));
  const recorder = await startFetchRecorder(REPORTING_SCRIPT);
  const director = await startDirector({ DIRECTOR_DATA_DIR: dataDir, DIRECTOR_ASSETS_URL: recorder.url, DIRECTOR_SCRIPT_POLICY: policy });
  const client = jsonClient(director.url);
  const result: BenchResult = {};
  try {
    const init = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * SLOTS * MINUTE;
    for (const concurrency of [1, 8]) {
      const id = `backfill-${concurrency}`;
      const task = { id, script: recorder.scriptUrl(id), running: false, init, interval: MINUTE, config: { ranUrl: recorder.ranUrl(id) } };
      const created = await client.call('POST', '/api/v1/tasks', task);
      if (created.status !== 200) throw new Error(`create answered ${created.status}: ${created.text}`);
      const from = init + (concurrency === 1 ? 0 : SLOTS) * MINUTE;
      const started = performance.now();
      const asked = await client.call('POST', `/api/v1/tasks/${id}/backfills`, { from, to: from + SLOTS * MINUTE, concurrency });
      if (asked.status !== 201) throw new Error(`backfill answered ${asked.status}: ${asked.text}`);
      const backfillId = (JSON.parse(asked.text) as { id: number }).id;
      let counts: Record<string, number> = {};
      for (;;) {
        const seen = JSON.parse((await client.call('GET', `/api/v1/backfills/${backfillId}`)).text) as { status: string; counts: Record<string, number> };
        counts = seen.counts;
        if (seen.status === 'completed') break;
        if (performance.now() - started > 300_000) throw new Error(`not completed after 300 s: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const seconds = (performance.now() - started) / 1000;
      const executions = executionsBySlot(recorder.ran.filter((r) => r.taskId === id));
      const twice = [...executions.values()].filter((n) => n > 1).length;
      result[`concurrency ${concurrency}: 1,000 slots in`] = `${round(seconds, 2)} s (${Math.round(SLOTS / seconds)} slots/s)`;
      result[`concurrency ${concurrency}: succeeded / executions / slots run twice`] = `${counts.succeeded} / ${executions.size} / ${twice}`;
    }
    result['problems logged'] = director.problems.length;
    return result;
  } finally {
    client.close();
    await director.stop();
    await recorder.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const scenarios: BenchScenario[] = [
  { name: 'backfill:strict', description: 'a backfill of 1,000 slots of one task, request to completed, concurrency 1 and 8 (strict, the default)', run: () => backfillBenchmark('strict') },
  { name: 'backfill:trusted', description: 'the same under DIRECTOR_SCRIPT_POLICY=trusted', run: () => backfillBenchmark('trusted') },
];
