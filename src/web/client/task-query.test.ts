// Filtering, sorting and paging the whole task list in the browser.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allTags, DEFAULT_QUERY, pageOf, selectTasks } from './task-query.js';
import type { TaskDoc } from './task-fields.js';

const none = new Map();
const docs: TaskDoc[] = [
  { id: 'b', script: 'report.js', running: true, interval: 7200000, init: '2025-01-01T00:00:00Z', tags: ['sla'] },
  { id: 'a10', script: 'hello.js', running: 'false', interval: '60000', tags: 'billing, sla' },
  { id: 'a2', script: 'hello.js', running: true },
  { id: 'c', script: 'x.js', running: true, interval: 3600000, init: '2025-01-01T00:30:00Z' },
];
const ids = (list: TaskDoc[]) => list.map((d) => d.id);
const NOW = Date.parse('2025-01-01T00:10:00Z');

describe('task query', () => {
  it('sorts ids as people count (a2 before a10)', () => {
    assert.deepEqual(ids(selectTasks(docs, DEFAULT_QUERY, NOW, none)), ['a2', 'a10', 'b', 'c']);
    assert.deepEqual(ids(selectTasks(docs, { ...DEFAULT_QUERY, direction: 'desc' }, NOW, none)), ['c', 'b', 'a10', 'a2']);
  });

  it('filters by text in id or script, by tag and by state, reading running as the server does', () => {
    assert.deepEqual(ids(selectTasks(docs, { ...DEFAULT_QUERY, text: 'HELLO' }, NOW, none)), ['a2', 'a10']);
    assert.deepEqual(ids(selectTasks(docs, { ...DEFAULT_QUERY, tag: 'sla' }, NOW, none)), ['a10', 'b']);
    assert.deepEqual(ids(selectTasks(docs, { ...DEFAULT_QUERY, state: 'stopped' }, NOW, none)), ['a10']);
    assert.deepEqual(ids(selectTasks(docs, { ...DEFAULT_QUERY, state: 'on-demand' }, NOW, none)), ['a2']);
    assert.deepEqual(allTags(docs), ['billing', 'sla']);
  });

  it('sorts by next run, known statuses first, tasks without a next run last either way', () => {
    const statuses = new Map([['a2', { nextExecution: String(NOW + 1000) }]]) as never;
    assert.deepEqual(ids(selectTasks(docs, { ...DEFAULT_QUERY, sort: 'next' }, NOW, statuses)), ['a2', 'c', 'b', 'a10']);
    assert.deepEqual(ids(selectTasks(docs, { ...DEFAULT_QUERY, sort: 'next', direction: 'desc' }, NOW, statuses)), ['b', 'c', 'a2', 'a10']);
  });

  it('keeps the page inside the list', () => {
    const items = Array.from({ length: 120 }, (_, i) => i);
    assert.deepEqual(pageOf(items, 3, 50), { items: items.slice(100), page: 3, pages: 3, first: 100, total: 120 });
    assert.equal(pageOf(items, 9, 50).page, 3);
    assert.equal(pageOf([], 1, 50).pages, 1);
  });

  it('handles 10,000 tasks in well under a frame budget per keystroke', () => {
    const many: TaskDoc[] = Array.from({ length: 10_000 }, (_, i) => ({ id: `task-${i}`, script: 'hello.js', running: i % 2 === 0, interval: 60000 * (1 + (i % 50)), tags: ['t'] }));
    const started = performance.now();
    const found = selectTasks(many, { ...DEFAULT_QUERY, text: 'task-99', sort: 'interval' }, NOW, none);
    const elapsed = performance.now() - started;
    assert.equal(found.length, 111);
    assert.ok(elapsed < 500, `${elapsed} ms`);
  });
});
