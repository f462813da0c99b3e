// What the dashboard reads from a cron task's document: its schedule in words and its next instant.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matches, DEFAULT_QUERY } from './task-query.js';
import { cronOf, estimatedNextRun, scheduleInWords } from './task-fields.js';

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

  it('is no on-demand task', () => {
    assert.equal(matches(doc, { ...DEFAULT_QUERY, state: 'on-demand' }), false);
  });
});
