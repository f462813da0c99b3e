// The backfill dialog's fields as the request body: dates typed in UTC, sent with an explicit Z.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backfillBody, defaultBackfillFields, dialogField, instantOf, utcInputValue } from './backfill-form-model.js';

describe('backfill form model', () => {
  it('reads the datetime inputs as UTC and sends ISO-8601 with Z', () => {
    assert.deepEqual(backfillBody({ from: '2026-03-01T00:00', to: '2026-03-01T00:05:30', concurrency: ' 4 ' }).body, {
      from: '2026-03-01T00:00:00.000Z', to: '2026-03-01T00:05:30.000Z', concurrency: '4',
    });
  });

  it('leaves empty fields out, so the API says what is missing and concurrency takes its default', () => {
    assert.deepEqual(backfillBody({ from: '', to: '2026-03-01T00:05', concurrency: '' }).body, { to: '2026-03-01T00:05:00.000Z' });
  });

  it('names the field of a date that is not one', () => {
    const { error } = backfillBody({ from: 'yesterday', to: '2026-03-01T00:05', concurrency: '1' });
    assert.equal(error?.field, 'from');
    assert.match(error?.message ?? '', /^from: "yesterday" is not an ISO-8601 date/);
  });

  it('writes an instant as a UTC datetime-local value and reads it back', () => {
    const ms = Date.parse('2026-11-01T05:30:00Z');
    assert.equal(utcInputValue(ms), '2026-11-01T05:30');
    assert.equal(utcInputValue(ms + 7000), '2026-11-01T05:30:07');
    assert.equal(instantOf(utcInputValue(ms)), ms);
    assert.equal(instantOf(''), null);
    assert.equal(instantOf('nonsense'), null);
  });

  it('offers the last whole hour, which is surely past', () => {
    const now = Date.parse('2026-11-01T05:42:10Z');
    assert.deepEqual(defaultBackfillFields(now), { from: '2026-11-01T04:00', to: '2026-11-01T05:00', concurrency: '1' });
  });

  it('shows an API error on the field it names, else above the fields', () => {
    assert.equal(dialogField('to'), 'to');
    assert.equal(dialogField('id'), '');
    assert.equal(dialogField(undefined), '');
  });
});
