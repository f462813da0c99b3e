// Deciding notifications, on a fake store: the streak memory, lost and repeated announcements, the task cache.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRecord, RunStats } from '../domain/run.js';
import { parseTask, type Task } from '../domain/task.js';
import { DirectorEvents } from '../lib/events.js';
import { createLogger } from '../lib/logger.js';
import { FakeClock, settle } from '../lib/testing/fake-clock.js';
import { testConfig } from '../config.js';
import { notifyOnRuns } from './notify-on-runs.js';
import type { Notification } from './webhook-sender.js';

function run(id: number, status: RunRecord['status']): RunRecord {
  return {
    id, taskId: 't', slot: null, attempt: 1, trigger: 'manual', backfillId: null, status, owner: 'me', createdMs: 0, queuedMs: 0, startedMs: 0, finishedMs: 1,
    durationMs: 1, latenessMs: null, result: null, error: status === 'succeeded' ? null : { stage: 'run', name: 'Error', message: 'boom' },
    logs: null, scriptUrl: null, scriptSha256: null, leaseUntilMs: null,
  };
}

function setup(notify: unknown = { webhooks: ['https://hooks.example/x'], afterFailures: 3 }) {
  const events = new DirectorEvents();
  const clock = new FakeClock();
  const sent: Notification[] = [];
  let streak = 0;
  let before = 0;
  let task: Task | undefined = parseTask({ id: 't', script: 's.js', notify }, { fallbackId: 't', createdMs: 0, nowMs: 0 });
  const reads = { task: 0 };
  const store = {
    async getTask() { reads.task += 1; return task; },
    async runStats(): Promise<RunStats> { return { counts: { running: 0, succeeded: 0, failed: 0, timed_out: 0, skipped: 0, lost: 0 }, lastRun: null, consecutiveFailures: streak }; },
    async failuresBefore() { return before; },
  };
  const notifier = notifyOnRuns({
    events, store, clock, sender: { send: (n) => sent.push(n) }, logger: createLogger('silent'), baseUrl: () => 'https://d.example',
    config: testConfig({ notifyWebhooks: [], notifyAfterFailures: 3, instanceId: 'me' }),
  });
  return {
    events, clock, sent, reads, notifier,
    setStreak: (n: number) => { streak = n; },
    setBefore: (n: number) => { before = n; },
    setTask: (t: Task | undefined) => { task = t; },
    finish: async (...runs: RunRecord[]) => {
      for (const r of runs) events.emit('run:finished', r);
      await notifier.idle();
    },
  };
}

const events = (sent: readonly Notification[]) => sent.map((n) => `${n.runId}:${n.event}`);

describe('deciding notifications', () => {
  it('sends failing once per streak, also when two failures were recorded before either was read', async () => {
    const s = setup();
    s.setStreak(1);
    await s.finish(run(1, 'failed'));
    s.setStreak(2);
    await s.finish(run(2, 'failed'));
    s.setStreak(4); // runs 3 and 4 both recorded before the first read
    await s.finish(run(3, 'failed'), run(4, 'timed_out'));
    s.setStreak(5);
    await s.finish(run(5, 'failed'));
    assert.deepEqual(events(s.sent), ['1:failed', '2:failed', '3:failed', '3:failing', '4:failed', '5:failed']);
    assert.equal(JSON.parse(s.sent[3]!.body).consecutiveFailures, 4);
  });

  it('starts a new streak after a success, and sends recovered only when the success ended one', async () => {
    const s = setup({ webhooks: ['https://hooks.example/x'], afterFailures: 1 });
    s.setStreak(1);
    await s.finish(run(1, 'failed'));
    s.setBefore(1);
    s.setStreak(0);
    await s.finish(run(2, 'succeeded'));
    s.setBefore(0);
    await s.finish(run(3, 'succeeded'));
    s.setStreak(1);
    await s.finish(run(4, 'failed'));
    assert.deepEqual(events(s.sent), ['1:failed', '1:failing', '2:recovered', '4:failed', '4:failing']);
    assert.equal(JSON.parse(s.sent[2]!.body).consecutiveFailures, 1);
  });

  it('sends failed for a lost run without counting it, once however often it is announced; nothing for skipped runs', async () => {
    const s = setup({ webhooks: ['https://hooks.example/x'], afterFailures: 1 });
    s.setStreak(0);
    await s.finish(run(1, 'lost'), run(1, 'lost'), run(2, 'skipped'));
    assert.deepEqual(events(s.sent), ['1:failed']);
  });

  it('sends a task\'s own webhooks only the events it lists', async () => {
    const s = setup({ webhooks: ['https://hooks.example/x'], events: ['recovered'] });
    s.setStreak(3);
    await s.finish(run(1, 'failed'));
    assert.deepEqual(s.sent, []);
  });

  it('reads a task once while it is unchanged, again after it changed or a minute later', async () => {
    const s = setup();
    await s.finish(run(1, 'succeeded'), run(2, 'succeeded'));
    assert.equal(s.reads.task, 1);
    s.setTask(undefined);
    s.events.emit('task:changed', { id: 't', change: 'deleted' });
    s.setStreak(1);
    await s.finish(run(3, 'failed'));
    assert.equal(s.reads.task, 2);
    assert.deepEqual(s.sent, [], 'a deleted task has only the global webhooks (none here)');
    await s.clock.advance(60_000);
    await settle();
    await s.finish(run(4, 'failed'));
    assert.equal(s.reads.task, 3);
  });
});
