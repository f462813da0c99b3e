// The tasks view: search, filters and sorting over all tasks, one page of rows at a time.

import { useMemo, useRef, useState } from 'preact/hooks';
import { useCan, useNow } from './app-context.js';
import { plural } from './format.js';
import { TaskTable } from './task-table.js';
import { allTags, DEFAULT_QUERY, pageOf, selectTasks, type SortKey, type StateFilter, type TaskQuery } from './task-query.js';
import { hrefOf } from './use-route.js';
import { useStatuses, type StatusMap } from './use-statuses.js';
import type { TaskList } from './use-task-list.js';

const PAGE_SIZE = 50;

export const SORT_LABELS: Readonly<Record<SortKey, string>> = {
  id: 'Id',
  script: 'Script',
  state: 'State',
  interval: 'Interval',
  next: 'Next run',
};

export function TasksView({ list }: { readonly list: TaskList }) {
  const [query, setQuery] = useState<TaskQuery>(DEFAULT_QUERY);
  const [page, setPage] = useState(1);
  const now = useNow(1000);
  const canCreate = useCan('create');
  const canTest = useCan('test');
  // Sorting by next run prefers the scheduler's answer for rows whose /status is known already.
  const known = useRef<StatusMap>(new Map());

  const all = list.tasks;
  const tags = useMemo(() => (all ? allTags(all.values()) : []), [all]);
  // Sorting by next run uses the clock; re-sorting every second would make rows jump under the pointer.
  const sortClock = Math.floor(now / 30_000);
  const selected = useMemo(
    () => (all ? selectTasks(all.values(), query, Date.now(), known.current) : []),
    [all, query, query.sort === 'next' ? sortClock : 0],
  );
  const shown = pageOf(selected, page, PAGE_SIZE);
  const statuses = useStatuses(shown.items.map((doc) => doc.id));
  known.current = statuses;

  const update = (change: Partial<TaskQuery>) => {
    setQuery((q) => ({ ...q, ...change }));
    setPage(1);
  };
  const sortBy = (sort: SortKey) => update({ sort, direction: query.sort === sort && query.direction === 'asc' ? 'desc' : 'asc' });

  return (
    <section aria-labelledby="tasks-title">
      <div class="view-head">
        <h1 id="tasks-title">Tasks</h1>
        <div class="head-actions">
          {canTest && <a class="button" href={hrefOf.test()}>Test a script</a>}
          {canCreate && <a class="button primary" href={hrefOf.create()}>New task</a>}
        </div>
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="filter-text">Search id or script</label>
          <input id="filter-text" type="search" value={query.text} onInput={(e) => update({ text: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="filter-tag">Tag</label>
          <select id="filter-tag" value={query.tag} onChange={(e) => update({ tag: e.currentTarget.value })}>
            <option value="">Any tag</option>
            {tags.map((tag) => <option key={tag} value={tag}>{tag}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="filter-state">State</label>
          <select id="filter-state" value={query.state} onChange={(e) => update({ state: e.currentTarget.value as StateFilter })}>
            <option value="all">All</option>
            <option value="running">Running</option>
            <option value="stopped">Stopped</option>
            <option value="on-demand">On demand</option>
          </select>
        </div>
        <div class="field">
          <label for="sort-key">Sort by</label>
          <div class="inline">
            <select id="sort-key" value={query.sort} onChange={(e) => update({ sort: e.currentTarget.value as SortKey })}>
              {Object.entries(SORT_LABELS).map(([key, label]) => <option key={key} value={key}>{label}</option>)}
            </select>
            <button type="button" aria-label={`Sort direction: ${query.direction === 'asc' ? 'ascending' : 'descending'}`} onClick={() => update({ direction: query.direction === 'asc' ? 'desc' : 'asc' })}>
              {query.direction === 'asc' ? '↑' : '↓'}
            </button>
          </div>
        </div>
      </form>

      {list.error && <p class="error" role="alert">Could not load the tasks: {list.error} <button type="button" onClick={list.reload}>Retry</button></p>}
      {!all && !list.error && <p aria-busy="true">Loading tasks…</p>}
      {all && (
        <>
          <p class="summary" aria-live="polite">
            {shown.total === 0
              ? all.size === 0 ? 'No tasks yet.' : `No task matches (of ${plural(all.size, 'task')}).`
              : `Showing ${shown.first + 1}–${shown.first + shown.items.length} of ${plural(shown.total, 'task')}${shown.total === all.size ? '' : ` (filtered from ${all.size.toLocaleString('en')})`}`}
          </p>
          {shown.items.length > 0 && <TaskTable tasks={shown.items} statuses={statuses} now={now} sort={query} onSort={sortBy} />}
          {shown.pages > 1 && <Pager page={shown.page} pages={shown.pages} onPage={setPage} />}
        </>
      )}
    </section>
  );
}

function Pager({ page, pages, onPage }: { page: number; pages: number; onPage: (page: number) => void }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(1)}>First</button>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>Previous</button>
      <span aria-current="page">Page {page} of {pages}</span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>Next</button>
      <button type="button" disabled={page >= pages} onClick={() => onPage(pages)}>Last</button>
    </nav>
  );
}
