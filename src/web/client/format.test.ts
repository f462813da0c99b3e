// Times and durations in words.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { durationInWords, intervalInWords, rangeText, relativeTime, spanInWords, utcTime, zonedTime } from './format.js';

describe('format', () => {
  it('says an interval with its two largest units', () => {
    assert.equal(intervalInWords(3_600_000), 'every 1 h');
    assert.equal(intervalInWords(5_400_000), 'every 1 h 30 min');
    assert.equal(intervalInWords(86_400_000 * 7), 'every 7 d');
    assert.equal(intervalInWords(10_000), 'every 10 s');
    assert.equal(intervalInWords(1500), 'every 1.5 s');
    assert.equal(intervalInWords(250), 'every 250 ms');
    assert.equal(intervalInWords(null), 'on demand');
  });

  it('drops a smaller unit after a zero one instead of skipping over it', () => {
    assert.equal(spanInWords(86_400_000 + 5 * 60_000), '1 d');
  });

  it('says when, relative to now', () => {
    assert.equal(relativeTime(10_000 + 300_000, 10_000), 'in 5 min');
    assert.equal(relativeTime(10_000 - 2_000, 10_000), '2 s ago');
    assert.equal(relativeTime(10_400, 10_000), 'now');
  });

  it('says a missing duration as a dash', () => {
    assert.equal(durationInWords(null), '—');
    assert.equal(durationInWords(42), '42 ms');
  });

  it('says an instant in a zone with its offset, so the two passes of a repeated hour differ', () => {
    assert.equal(zonedTime(Date.parse('2026-11-01T05:30:00Z'), 'America/New_York'), '2026-11-01 01:30:00 GMT-4');
    assert.equal(zonedTime(Date.parse('2026-11-01T06:30:00Z'), 'America/New_York'), '2026-11-01 01:30:00 GMT-5');
    assert.equal(zonedTime(Date.parse('2026-03-30T00:30:00Z'), 'Europe/Madrid'), '2026-03-30 02:30:00 GMT+2');
  });

  it('says an instant in UTC, with seconds only when there are some', () => {
    assert.equal(utcTime(Date.parse('2026-11-01T05:30:00Z')), '2026-11-01 05:30 UTC');
    assert.equal(utcTime(Date.parse('2026-11-01T05:30:07Z')), '2026-11-01 05:30:07 UTC');
  });

  it('says a range with its date once when it falls on one day, and its zone once when that does not change', () => {
    const at = (iso: string) => utcTime(Date.parse(iso));
    assert.deepEqual(rangeText(at('2026-01-10T03:00:00Z'), at('2026-01-10T04:00:00Z')), { from: '2026-01-10 03:00', to: '04:00 UTC' });
    assert.deepEqual(rangeText(at('2026-01-10T23:00:00Z'), at('2026-01-11T01:00:00Z')), { from: '2026-01-10 23:00', to: '2026-01-11 01:00 UTC' });
    const madrid = (iso: string) => zonedTime(Date.parse(iso), 'Europe/Madrid');
    assert.deepEqual(rangeText(madrid('2026-03-29T00:00:00Z'), madrid('2026-03-29T03:00:00Z')), { from: '2026-03-29 01:00:00 GMT+1', to: '05:00:00 GMT+2' });
  });
});
