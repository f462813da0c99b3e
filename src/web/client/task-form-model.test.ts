// The task form's document and its validation, which must say what the API says.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDirectorError } from '../../domain/errors.js';
import { parseTask } from '../../domain/task.js';
import { docFromFields, fieldsFromDoc, parseRaw, validateDoc } from './task-form-model.js';

function apiMessage(doc: unknown): string | undefined {
  try {
    parseTask(doc, { fallbackId: 'x', createdMs: 0, nowMs: 0 });
    return undefined;
  } catch (error) {
    return isDirectorError(error) ? error.message : String(error);
  }
}

describe('task form model', () => {
  it('sends numbers as numbers, leaves empty fields out and keeps fields the form does not show', () => {
    const fields = { ...fieldsFromDoc({ id: 'a', script: 'hello.js' }), interval: ' 5000 ', init: '2025-01-01T00:00:00Z', tags: 'a, b,', config: '{"n":1}' };
    const { doc, error } = docFromFields(fields, { id: 'a', custom: { kept: true }, end: 'old' });
    assert.equal(error, undefined);
    assert.deepEqual(doc, { id: 'a', script: 'hello.js', running: false, interval: 5000, init: '2025-01-01T00:00:00Z', tags: ['a', 'b'], config: { n: 1 }, custom: { kept: true } });
  });

  it('reads a stored document back into the form', () => {
    const fields = fieldsFromDoc({ id: 'a', script: 's.js', running: 'true', interval: 60000, tags: ['x', 'y'], config: { a: 1 } });
    assert.equal(fields.running, true);
    assert.equal(fields.interval, '60000');
    assert.equal(fields.tags, 'x, y');
    assert.equal(fields.config, '{\n  "a": 1\n}');
  });

  it('gives exactly the API’s message and field for a bad value', () => {
    for (const interval of ['0', '-5', 'abc', '1.5', '99999999999999999']) {
      const { doc } = docFromFields({ ...fieldsFromDoc({ script: 'hello.js' }), interval });
      const error = validateDoc(doc);
      assert.equal(error?.field, 'interval', interval);
      assert.equal(error?.message, apiMessage(doc), interval);
    }
    assert.equal(validateDoc({ script: '', running: false })?.field, 'script');
    assert.equal(validateDoc({ script: 'hello.js', init: 2000, end: 1000 })?.message, 'end: must be after init');
    assert.equal(validateDoc({ script: 'hello.js', interval: 1000 }), undefined);
  });

  it('names config when its JSON does not parse', () => {
    const { error } = docFromFields({ ...fieldsFromDoc({ script: 'hello.js' }), config: '{nope' });
    assert.equal(error?.field, 'config');
  });

  it('accepts only a JSON object in raw mode', () => {
    assert.deepEqual(parseRaw('{"script":"a.js"}').doc, { script: 'a.js' });
    assert.match(parseRaw('[1]').error!.message, /must be a JSON object/);
    assert.match(parseRaw('{').error!.message, /not valid JSON/);
  });

  it('sends cron and timezone as given, and says what the API says about them', () => {
    const fields = { ...fieldsFromDoc({ id: 'c', script: 'hello.js' }), cron: ' 0 3 * * * ', timezone: 'Europe/Madrid' };
    const { doc } = docFromFields(fields);
    assert.deepEqual(doc, { id: 'c', script: 'hello.js', running: false, cron: '0 3 * * *', timezone: 'Europe/Madrid', config: {} });
    assert.equal(fieldsFromDoc(doc).cron, '0 3 * * *');
    for (const bad of [{ ...doc, interval: 5000 }, { ...doc, cron: '0 3 * *' }, { ...doc, timezone: 'Nowhere/Land' }]) {
      assert.equal(validateDoc(bad)?.message, apiMessage(bad));
    }
    assert.equal(validateDoc({ ...doc, timezone: 'Nowhere/Land' })?.field, 'timezone');
  });
});
