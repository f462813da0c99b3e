// The run log: one info line per finished run, with the fields operators filter on.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { RunRecord } from '../domain/run.js';
import { DirectorEvents } from '../lib/events.js';
import { createLogger } from '../lib/logger.js';
import { startRunLog } from './run-log.js';

const base: RunRecord = {
  id: 7, taskId: 'backup', slot: 1_000, attempt: 2, trigger: 'schedule', backfillId: null, status: 'failed', owner: 'o', createdMs: 1_000,
  queuedMs: 1_010, startedMs: 1_030, finishedMs: 3_030, durationMs: 2_000, latenessMs: 30, result: 'secret result', logs: 'secret logs', scriptUrl: null,
  scriptSha256: null, leaseUntilMs: null, error: { stage: 'run', name: 'Error', message: 'x'.repeat(2000), stack: 'at somewhere' },
};

describe('run log', () => {
  it('logs one line per finished run with task, slot, attempt, trigger, outcome, lateness, duration and run id', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const events = new DirectorEvents();
    const stop = startRunLog({ events, logger: createLogger('info', sink) });
    events.emit('run:started', { ...base, status: 'running' });
    events.emit('run:finished', base);
    events.emit('run:finished', { ...base, id: 8, trigger: 'manual', slot: null, latenessMs: null, status: 'succeeded', error: null });
    stop();
    events.emit('run:finished', base);
    return new Promise<void>((resolve) => setImmediate(() => {
      assert.equal(lines.length, 2);
      const [failed, manual] = lines;
      assert.equal(failed!.msg, 'run finished');
      assert.equal(failed!.level, 30);
      assert.deepEqual(
        [failed!.taskId, failed!.slot, failed!.attempt, failed!.trigger, failed!.outcome, failed!.latenessMs, failed!.durationMs, failed!.runId],
        ['backup', 1_000, 2, 'schedule', 'failed', 30, 2_000, 7],
      );
      assert.equal((failed!.error as { message: string }).message.length, 500, 'the error message is cut');
      assert.equal(failed!.result, undefined, 'results and logs stay in the run row');
      assert.equal(failed!.logs, undefined);
      assert.deepEqual([manual!.outcome, manual!.slot, manual!.error], ['succeeded', null, undefined]);
      resolve();
    }));
  });
});
