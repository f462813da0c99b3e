// A task's run history, newest first; each run opens to show its captured logs, result and error.

import { useEffect, useState } from 'preact/hooks';
import { taskPath } from './api-client.js';
import { useApp } from './app-context.js';
import { absoluteTime, durationInWords, prettyJson } from './format.js';
import { triggerLabel, type RunView } from './task-fields.js';
import { OutcomeBadge } from './task-table.js';

interface HistoryProps {
  readonly taskId: string;
  readonly runs: readonly RunView[];
  readonly more: boolean;
  readonly onMore: () => void;
  /** A run to show opened (`#/tasks/{id}/runs/{runId}`, the link of a failure notification). */
  readonly opened?: number;
}

export function RunHistory({ taskId, runs, more, onMore, opened }: HistoryProps) {
  const [open, setOpen] = useState<number | null>(opened ?? null);
  useEffect(() => {
    if (opened === undefined) return;
    setOpen(opened);
    document.querySelector(`tr[data-run-id="${opened}"]`)?.scrollIntoView({ block: 'center' });
  }, [opened, runs.length > 0]);
  // A run older than the page shown is opened on its own above the list.
  const outside = opened !== undefined && open === opened && !runs.some((run) => run.id === opened);
  if (runs.length === 0 && !outside) return <p>No runs yet.</p>;
  return (
    <>
      {outside && (
        <div class="run-details-row" data-run-id={opened}>
          <h3>Run #{opened}</h3>
          <RunDetails taskId={taskId} runId={opened} status="" summary />
        </div>
      )}
      <table class="runs">
        <caption class="visually-hidden">Runs of {taskId}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Outcome</th>
            <th scope="col">Trigger</th>
            <th scope="col">Slot</th>
            <th scope="col">Started</th>
            <th scope="col" title="main() entered − slot">Lateness</th>
            <th scope="col" title="main() entered − queued: waiting for a place, fetching, starting a worker">Queue wait</th>
            <th scope="col">Duration</th>
            <th scope="col"><span class="visually-hidden">Details</span></th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <RunRows key={run.id} run={run} taskId={taskId} open={open === run.id} onToggle={() => setOpen(open === run.id ? null : run.id)} />
          ))}
        </tbody>
      </table>
      {more && <button type="button" onClick={onMore}>Show older runs</button>}
    </>
  );
}

function RunRows({ run, taskId, open, onToggle }: { run: RunView; taskId: string; open: boolean; onToggle: () => void }) {
  const detailsId = `run-${run.id}-details`;
  return (
    <>
      <tr data-run-id={run.id}>
        <td data-label="Run">#{run.id}</td>
        <td data-label="Outcome"><OutcomeBadge status={run.status} /></td>
        <td data-label="Trigger">{triggerLabel(run)}</td>
        <td data-label="Slot">{run.slot === null ? '—' : absoluteTime(run.slot)}</td>
        <td data-label="Started">{run.startedMs === null ? '—' : absoluteTime(run.startedMs)}</td>
        <td data-label="Lateness">{durationInWords(run.latenessMs)}</td>
        <td data-label="Queue wait">{durationInWords(run.queueWaitMs)}</td>
        <td data-label="Duration">{durationInWords(run.durationMs)}</td>
        <td data-label="Details">
          <button type="button" aria-expanded={open} aria-controls={detailsId} onClick={onToggle}>
            {open ? 'Hide' : 'Logs'}<span class="visually-hidden"> of run {run.id}</span>
          </button>
        </td>
      </tr>
      {open && (
        <tr class="run-details-row">
          <td colSpan={9} id={detailsId}>
            <RunDetails taskId={taskId} runId={run.id} status={run.status} />
          </td>
        </tr>
      )}
    </>
  );
}

interface DetailsProps {
  readonly taskId: string;
  readonly runId: number;
  readonly status: string;
  /** Also its outcome, trigger and times: for a run shown without its row in the table. */
  readonly summary?: boolean;
}

/** Reads one run in full; a running run is read again when it finishes (the status prop changes). */
export function RunDetails({ taskId, runId, status, summary = false }: DetailsProps) {
  const { api } = useApp();
  const [run, setRun] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.get<RunView>(taskPath(taskId, `/runs/${runId}`)).then(
      (r) => live && setRun(r),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [api, taskId, runId, status]);
  if (error) return <p class="error" role="alert">Could not load run {runId}: {error}</p>;
  if (!run) return <p aria-busy="true">Loading run {runId}…</p>;
  return (
    <div class="run-details">
      {summary && (
        <dl class="facts">
          <dt>Outcome</dt>
          <dd><OutcomeBadge status={run.status} /></dd>
          <dt>Trigger</dt>
          <dd>{triggerLabel(run)}</dd>
          <dt>Slot</dt>
          <dd>{run.slot === null ? '—' : absoluteTime(run.slot)}</dd>
          <dt>Started</dt>
          <dd>{run.startedMs === null ? '—' : absoluteTime(run.startedMs)}</dd>
          <dt>Duration</dt>
          <dd>{durationInWords(run.durationMs)}</dd>
        </dl>
      )}
      {run.error && (
        <div>
          <h4>Error</h4>
          <p class="error">{run.error.stage} failed: {run.error.name}: {run.error.message}</p>
          {run.error.stack && <pre class="stack">{run.error.stack}</pre>}
        </div>
      )}
      {run.status === 'succeeded' && (
        <div>
          <h4>Result</h4>
          <pre class="result">{prettyJson(run.result)}</pre>
        </div>
      )}
      <div>
        <h4>Logs</h4>
        {run.logs ? <pre class="logs" tabIndex={0}>{run.logs}</pre> : <p>No output.</p>}
      </div>
    </div>
  );
}
