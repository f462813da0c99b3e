// A task body's `cron` and `timezone`: accepted forms, and the field each refusal names.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDirectorError } from './errors.js';
import { parseTask } from './task.js';

const T0 = Date.UTC(2030, 0, 1);
const parse = (fields: Record<string, unknown>) => parseTask({ id: 't', script: 'hello.js', running: true, ...fields }, { fallbackId: 't', createdMs: T0, nowMs: T0 });

function refusal(fields: Record<string, unknown>): { field: unknown; message: string } {
  try {
    parse(fields);
  } catch (error) {
    assert.ok(isDirectorError(error), String(error));
    assert.equal(error.status, 400);
    return { field: error.details.field, message: error.message };
  }
  assert.fail(`accepted ${JSON.stringify(fields)}`);
}

describe('a task with cron', () => {
  it('takes five fields, or six with seconds, in UTC unless a timezone is given', () => {
    assert.deepEqual(parse({ cron: '0 3 * * *' }).cron, { expression: '0 3 * * *', timezone: 'UTC' });
    assert.deepEqual(parse({ cron: ' */10 * * * * * ', timezone: 'Europe/Madrid' }).cron, { expression: '*/10 * * * * *', timezone: 'Europe/Madrid' });
    assert.equal(parse({ cron: '0 3 * * MON-FRI', timezone: 'America/New_York' }).intervalMs, null);
  });

  it('keeps the body verbatim, cron and timezone included', () => {
    const task = parse({ cron: '0 3 * * *', timezone: 'Europe/Madrid', tags: ['x'] });
    assert.equal(task.doc.cron, '0 3 * * *');
    assert.equal(task.doc.timezone, 'Europe/Madrid');
  });

  it('treats an empty or null cron as none: an interval task or an on-demand one', () => {
    assert.equal(parse({ cron: '', interval: 5000 }).cron, null);
    assert.equal(parse({ cron: null }).cron, null);
  });

  it('refuses interval and cron together, naming cron', () => {
    const { field, message } = refusal({ cron: '0 3 * * *', interval: 60_000 });
    assert.equal(field, 'cron');
    assert.match(message, /either `interval` or `cron`/);
  });

  it('refuses a bad expression, naming cron and saying why', () => {
    assert.deepEqual(refusal({ cron: '61 * * * *' }), { field: 'cron', message: 'cron: "61 * * * *" is not a valid cron expression: Invalid value for minute: 61' });
    assert.equal(refusal({ cron: 'every day' }).field, 'cron');
    assert.equal(refusal({ cron: 5 }).field, 'cron');
    assert.match(refusal({ cron: '0 0 31 2 *' }).message, /never matches/);
  });

  it('refuses four or seven fields and nicknames: five or six fields only', () => {
    for (const cron of ['* * * *', '0 0 0 * * * 2030', '@daily']) {
      const { field, message } = refusal({ cron });
      assert.equal(field, 'cron');
      assert.match(message, /five fields/);
    }
  });

  it('refuses an unknown zone or an offset, naming timezone', () => {
    for (const timezone of ['Mars/Olympus_Mons', '+01:00', 'Europe/Madrid; DROP', 7]) {
      assert.equal(refusal({ cron: '0 3 * * *', timezone }).field, 'timezone', String(timezone));
    }
  });

  it('refuses a timezone without cron, naming timezone', () => {
    assert.equal(refusal({ timezone: 'Europe/Madrid', interval: 5000 }).field, 'timezone');
    assert.equal(refusal({ timezone: 'Europe/Madrid' }).field, 'timezone');
  });
});
