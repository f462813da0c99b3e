// Parsing the server-sent events stream.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBlock } from './live-events.js';

describe('live events', () => {
  it('reads named events with JSON data and ignores comments and unknown names', () => {
    assert.deepEqual(parseBlock('event: task:changed\ndata: {"id":"a","change":"created"}'), { type: 'task:changed', data: { id: 'a', change: 'created' } });
    assert.deepEqual(parseBlock('event: run:finished\ndata:{"id":3,"taskId":"a","status":"failed"}'), { type: 'run:finished', data: { id: 3, taskId: 'a', status: 'failed' } });
    assert.equal(parseBlock(': heartbeat'), undefined);
    assert.equal(parseBlock('retry: 3000\n: connected'), undefined);
    assert.equal(parseBlock('event: slot:claimed\ndata: {}'), undefined);
    assert.equal(parseBlock('event: run:started\ndata: {broken'), undefined);
  });
});
