// Filtering, sorting and paging of the whole task list in the browser (10,000 tasks in a few ms).

import type { StatusMap } from './use-statuses.js';
import { estimatedNextRun, hasSchedule, intervalOf, isRunning, scriptOf, tagsOf, type TaskDoc } from './task-fields.js';

export type StateFilter = 'all' | 'running' | 'stopped' | 'on-demand';
export type SortKey = 'id' | 'script' | 'state' | 'interval' | 'next';
export type Direction = 'asc' | 'desc';

export interface TaskQuery {
  /** Matched against id and script, case-insensitive. */
  readonly text: string;
  /** '' for any tag. */
  readonly tag: string;
  readonly state: StateFilter;
  readonly sort: SortKey;
  readonly direction: Direction;
}

export const DEFAULT_QUERY: TaskQuery = { text: '', tag: '', state: 'all', sort: 'id', direction: 'asc' };

export function matches(doc: TaskDoc, query: TaskQuery): boolean {
  if (query.state === 'running' && !isRunning(doc)) return false;
  if (query.state === 'stopped' && isRunning(doc)) return false;
  if (query.state === 'on-demand' && hasSchedule(doc)) return false;
  if (query.tag !== '' && !tagsOf(doc).includes(query.tag)) return false;
  const text = query.text.trim().toLowerCase();
  if (text !== '' && !doc.id.toLowerCase().includes(text) && !scriptOf(doc).toLowerCase().includes(text)) return false;
  return true;
}

type Key = string | number | undefined;

function keyOf(doc: TaskDoc, sort: SortKey, now: number, statuses: StatusMap): Key {
  switch (sort) {
    case 'id':
      return doc.id;
    case 'script':
      return scriptOf(doc);
    case 'state':
      return isRunning(doc) ? 0 : 1;
    case 'interval':
      return intervalOf(doc) ?? undefined;
    case 'next': {
      const known = statuses.get(doc.id)?.nextExecution;
      return known ? Number(known) : estimatedNextRun(doc, now);
    }
  }
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Filters and sorts; tasks without a key (no next run, on demand) go last in either direction. */
export function selectTasks(tasks: Iterable<TaskDoc>, query: TaskQuery, now: number, statuses: StatusMap): TaskDoc[] {
  const rows: Array<{ doc: TaskDoc; key: Key }> = [];
  for (const doc of tasks) if (matches(doc, query)) rows.push({ doc, key: keyOf(doc, query.sort, now, statuses) });
  const sign = query.direction === 'asc' ? 1 : -1;
  rows.sort((a, b) => {
    if (a.key === undefined || b.key === undefined) {
      if (a.key === b.key) return collator.compare(a.doc.id, b.doc.id);
      return a.key === undefined ? 1 : -1;
    }
    const order = typeof a.key === 'number' && typeof b.key === 'number' ? a.key - b.key : collator.compare(String(a.key), String(b.key));
    return order === 0 ? collator.compare(a.doc.id, b.doc.id) : sign * order;
  });
  return rows.map((r) => r.doc);
}

export function allTags(tasks: Iterable<TaskDoc>): string[] {
  const tags = new Set<string>();
  for (const doc of tasks) for (const tag of tagsOf(doc)) tags.add(tag);
  return [...tags].sort(collator.compare);
}

export interface Page<T> {
  readonly items: T[];
  readonly page: number;
  readonly pages: number;
  readonly first: number;
  readonly total: number;
}

export function pageOf<T>(items: readonly T[], page: number, size: number): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(1, page), pages);
  const first = (current - 1) * size;
  return { items: items.slice(first, first + size), page: current, pages, first, total: items.length };
}
