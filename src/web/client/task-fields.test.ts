// What the dashboard reads from a task's document (a cron task's schedule and next instant) and from its runs.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matches, DEFAULT_QUERY } from './task-query.js';
import { allows, cronOf, estimatedNextRun, scheduleInWords, statusScheduleInWords, triggerLabel } from './task-fields.js';

describe('task fields of a cron task', () => {
  const doc = { id: 'c', script: 's.js', running: true, cron: '30 2 * * *', timezone: 'Europe/Madrid' };

  it('says the cron and its zone where an interval task says its interval', () => {
    assert.deepEqual(cronOf(doc), { expression: '30 2 * * *', timezone: 'Europe/Madrid' });
    assert.equal(scheduleInWords(doc), 'cron 30 2 * * * (Europe/Madrid)');
    assert.equal(scheduleInWords({ id: 'u', cron: '0 3 * * *' }), 'cron 0 3 * * * (UTC)');
    assert.equal(scheduleInWords({ id: 'i', interval: 3_600_000 }), 'every 1 h');
  });

  it('estimates the next instant without init, skipping the spring-forward gap', () => {
    assert.equal(estimatedNextRun(doc, Date.parse('2026-03-28T12:00:00Z')), Date.parse('2026-03-30T00:30:00Z'));
    assert.equal(estimatedNextRun({ ...doc, running: false }, Date.parse('2026-03-28T12:00:00Z')), undefined);
  });

  it('says the schedule the server reports, which a sibling JSON may have given', () => {
    assert.equal(statusScheduleInWords({ interval: null, cron: '30 2 * * *', timezone: 'Europe/Madrid' }), 'cron 30 2 * * * (Europe/Madrid)');
    assert.equal(statusScheduleInWords({ interval: 60_000, cron: null, timezone: null }), 'every 1 min');
    assert.equal(statusScheduleInWords({ interval: null }), 'on demand');
  });

  it('is no on-demand task', () => {
    assert.equal(matches(doc, { ...DEFAULT_QUERY, state: 'on-demand' }), false);
  });
});

describe('task fields of a run', () => {
  it('says which backfill a backfill run belongs to, and the attempt of a re-run', () => {
    assert.equal(triggerLabel({ trigger: 'backfill', backfillId: 3, attempt: 1 }), 'backfill #3');
    assert.equal(triggerLabel({ trigger: 'backfill', backfillId: 3, attempt: 2 }), 'backfill #3 (attempt 2)');
    assert.equal(triggerLabel({ trigger: 'schedule', backfillId: null, attempt: 1 }), 'schedule');
    assert.equal(triggerLabel({ trigger: 'manual', attempt: 1 }), 'manual');
  });

  it('lets operators and admins backfill, not viewers', () => {
    assert.deepEqual((['viewer', 'operator', 'admin'] as const).map((role) => allows(role, 'backfill')), [false, true, true]);
  });
});
