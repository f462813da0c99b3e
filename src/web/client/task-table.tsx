// One page of tasks: a table on a laptop, cards on a phone (the same markup, restyled under 640 px).

import { useState } from 'preact/hooks';
import { useCan } from './app-context.js';
import { absoluteTime, durationInWords, relativeTime } from './format.js';
import { useTaskActions } from './task-actions.js';
import { isRunning, OUTCOME_LABEL, scheduleInWords, scriptOf, tagsOf, type TaskDoc, type TaskStatus } from './task-fields.js';
import type { SortKey, TaskQuery } from './task-query.js';
import { hrefOf } from './use-route.js';
import type { StatusMap } from './use-statuses.js';

interface TableProps {
  readonly tasks: readonly TaskDoc[];
  readonly statuses: StatusMap;
  readonly now: number;
  readonly sort: TaskQuery;
  readonly onSort: (key: SortKey) => void;
}

export function TaskTable({ tasks, statuses, now, sort, onSort }: TableProps) {
  const header = (key: SortKey | null, label: string) => {
    if (!key) return <th scope="col">{label}</th>;
    const active = sort.sort === key;
    return (
      <th scope="col" aria-sort={active ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'}>
        <button type="button" class="sort" onClick={() => onSort(key)}>
          {label}
          <span aria-hidden="true">{active ? (sort.direction === 'asc' ? ' ↑' : ' ↓') : ''}</span>
        </button>
      </th>
    );
  };
  return (
    <table class="tasks">
      <caption class="visually-hidden">Tasks, with their schedule and last run</caption>
      <thead>
        <tr>
          {header('id', 'Task')}
          {header('state', 'State')}
          {header('interval', 'Interval')}
          {header('next', 'Next run')}
          {header(null, 'Last run')}
          {header(null, 'Failures')}
          {header(null, 'Actions')}
        </tr>
      </thead>
      <tbody>
        {tasks.map((doc) => <TaskRow key={doc.id} doc={doc} status={statuses.get(doc.id)} now={now} />)}
      </tbody>
    </table>
  );
}

export function StateBadge({ running }: { readonly running: boolean }) {
  return <span class={`badge ${running ? 'running' : 'stopped'}`}>{running ? 'Running' : 'Stopped'}</span>;
}

export function OutcomeBadge({ status }: { readonly status: string }) {
  return <span class={`badge outcome-${status}`}>{OUTCOME_LABEL[status] ?? status}</span>;
}

export function When({ ms, now }: { readonly ms: number; readonly now: number }) {
  return (
    <span class="when">
      <time dateTime={new Date(ms).toISOString()}>{relativeTime(ms, now)}</time>
      <small>{absoluteTime(ms)}</small>
    </span>
  );
}

function TaskRow({ doc, status, now }: { doc: TaskDoc; status: TaskStatus | undefined; now: number }) {
  const running = status ? status.running : isRunning(doc);
  const canToggle = useCan(running ? 'stop' : 'start');
  const canRun = useCan('run');
  const actions = useTaskActions();
  const [busy, setBusy] = useState(false);
  const tags = tagsOf(doc);
  const next = status?.nextExecution ? Number(status.nextExecution) : undefined;
  const last = status?.lastRun;

  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await work();
    } finally {
      setBusy(false);
    }
  };

  return (
    <tr data-task-id={doc.id}>
      <td data-label="Task" class="task-cell">
        <a href={hrefOf.task(doc.id)} class="task-id">{doc.id}</a>
        <span class="task-sub">
          <small class="script">{scriptOf(doc)}</small>
          {tags.map((tag) => <span key={tag} class="tag">{tag}</span>)}
        </span>
      </td>
      <td data-label="State"><StateBadge running={running} /></td>
      <td data-label="Interval">{scheduleInWords(doc)}</td>
      <td data-label="Next run">{next !== undefined ? <When ms={next} now={now} /> : status ? '—' : '…'}</td>
      <td data-label="Last run">
        {last ? (
          <span class="last-run">
            <OutcomeBadge status={last.status} /> <span>{durationInWords(last.durationMs)}</span>
          </span>
        ) : status ? 'never' : '…'}
      </td>
      <td data-label="Failures" class={status && status.consecutiveFailures > 0 ? 'failing' : ''}>
        {status ? status.consecutiveFailures : '…'}
      </td>
      <td data-label="Actions" class="actions">
        {canToggle && (
          <button type="button" disabled={busy} onClick={() => act(() => actions.setRunning(doc.id, running ? 'stop' : 'start'))} aria-label={`${running ? 'Stop' : 'Start'} ${doc.id}`}>
            {running ? 'Stop' : 'Start'}
          </button>
        )}
        {canRun && (
          <button type="button" disabled={busy} onClick={() => act(() => actions.runNow(doc.id))} aria-label={`Run ${doc.id} now`}>
            Run now
          </button>
        )}
      </td>
    </tr>
  );
}
