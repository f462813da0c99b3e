// One task: state and actions, status, next slots, chart, backfills, run history with logs, and its JSON.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, taskPath } from './api-client.js';
import { useApp, useCan, useLive, useNow } from './app-context.js';
import { BackfillDialog } from './backfill-dialog.js';
import { BackfillList } from './backfill-list.js';
import { isActiveBackfill } from './backfill-progress.js';
import { ConfirmDialog } from './dialogs.js';
import { prettyJson } from './format.js';
import { RunChart } from './run-chart.js';
import { RunHistory } from './run-history.js';
import { RunResult } from './run-result.js';
import { useTaskActions, type RunOutcome } from './task-actions.js';
import { statusScheduleInWords, type RunView, type TaskDoc, type TaskStatus } from './task-fields.js';
import { StatusCards, type Slot } from './status-cards.js';
import { StateBadge } from './task-table.js';
import { useBackfills } from './use-backfills.js';
import { hrefOf, navigate } from './use-route.js';

interface Slots {
  readonly slots: readonly Slot[];
}

const RUNS_PAGE = 50;

export function TaskDetail({ id, runId }: { readonly id: string; readonly runId?: number }) {
  const { api, session, announce } = useApp();
  const now = useNow(1000);
  const [task, setTask] = useState<TaskDoc | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [status, setStatus] = useState<TaskStatus | null>(null);
  const [slots, setSlots] = useState<Slots['slots']>([]);
  const [runs, setRuns] = useState<RunView[]>([]);
  const [runLimit, setRunLimit] = useState(RUNS_PAGE);
  const [outcome, setOutcome] = useState<RunOutcome | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [backfilling, setBackfilling] = useState(false);
  const actions = useTaskActions();
  const backfills = useBackfills(id);
  const can = { start: useCan('start'), stop: useCan('stop'), run: useCan('run'), backfill: useCan('backfill'), edit: useCan('edit'), delete: useCan('delete') };

  const loadTask = useCallback(async () => {
    try {
      const [doc, st, sl] = await Promise.all([
        api.get<TaskDoc>(taskPath(id)),
        api.get<TaskStatus>(taskPath(id, '/status')),
        api.get<Slots>(taskPath(id, '/slots?count=5')),
      ]);
      setTask(doc);
      setStatus(st);
      setSlots(sl.slots);
      setMissing(null);
    } catch (e) {
      setMissing(e instanceof ApiError && e.status === 404 ? `There is no task "${id}" (any more).` : `Could not load task "${id}": ${(e as Error).message}`);
    }
  }, [api, id]);

  const loadRuns = useCallback(async () => {
    try {
      const page = await api.get<{ runs: RunView[] }>(taskPath(id, `/runs?limit=${runLimit}`));
      setRuns(page.runs);
    } catch {
      // The task's own load reports what is wrong.
    }
  }, [api, id, runLimit]);

  useEffect(() => {
    void loadTask();
  }, [loadTask, session]);
  useEffect(() => {
    void loadRuns();
  }, [loadRuns, session]);

  // Runs of a busy task finish often: reload at most every 300 ms.
  const refresh = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useLive((event) => {
    if (event.type === 'task:changed') {
      if (event.data.id !== id) return;
      if (event.data.change === 'deleted' || event.data.change === 'ended') {
        setMissing(`Task "${id}" was ${event.data.change === 'ended' ? 'removed: its end has passed' : 'deleted'}.`);
        return;
      }
      void loadTask();
      return;
    }
    if (event.data.taskId !== id) return;
    // A backfill asked for elsewhere (another tab, the API): its first run is the news of it here.
    if (event.type === 'run:started' && event.data.trigger === 'backfill' && !backfills.list?.some((b) => isActiveBackfill(b.status))) void backfills.reload();
    refresh.current ??= setTimeout(() => {
      refresh.current = undefined;
      void loadRuns();
      void loadTask();
    }, 300);
  });
  useEffect(() => () => clearTimeout(refresh.current), []);

  if (missing) {
    return (
      <section>
        <p><a href={hrefOf.tasks()}>← All tasks</a></p>
        <p class="error" role="alert">{missing}</p>
      </section>
    );
  }
  if (!task || !status) return <p aria-busy="true">Loading task {id}…</p>;

  const running = status.running;
  // The server's view of the schedule: a script's sibling JSON may give one the document lacks.
  const scheduled = !status.onDemand;

  const run = async () => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome(await actions.runNow(id));
    } finally {
      setBusy(false);
    }
  };
  const toggle = async () => {
    setBusy(true);
    try {
      if (await actions.setRunning(id, running ? 'stop' : 'start')) await loadTask();
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setConfirming(false);
    if (await actions.remove(id)) navigate(hrefOf.tasks());
  };

  return (
    <section aria-labelledby="task-title" class="detail">
      <p><a href={hrefOf.tasks()}>← All tasks</a></p>
      <div class="view-head">
        <h1 id="task-title">
          <span class="task-id">{id}</span> <StateBadge running={running} />
        </h1>
        <div class="head-actions">
          {(running ? can.stop : can.start) && <button type="button" disabled={busy} onClick={toggle}>{running ? 'Stop' : 'Start'}</button>}
          {can.run && <button type="button" class="primary" disabled={busy} onClick={run}>{busy ? 'Running…' : 'Run now'}</button>}
          {can.backfill && scheduled && <button type="button" onClick={() => setBackfilling(true)}>Backfill…</button>}
          {can.edit && <a class="button" href={hrefOf.edit(id)}>Edit</a>}
          {can.delete && <button type="button" class="danger" onClick={() => setConfirming(true)}>Delete</button>}
        </div>
      </div>

      <div aria-live="polite">{outcome && <RunResult outcome={outcome} onClose={() => setOutcome(null)} />}</div>

      <StatusCards task={task} status={status} slots={slots} now={now} />

      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Durations and lateness</h2>
        <RunChart runs={runs} />
      </section>

      {(scheduled || (backfills.list?.length ?? 0) > 0) && (
        <section aria-labelledby="backfills-title">
          <h2 id="backfills-title">Backfills</h2>
          <BackfillList taskId={id} backfills={backfills} timezone={status.cron ? status.timezone ?? 'UTC' : null} now={now} canCancel={can.backfill} />
        </section>
      )}

      <section aria-labelledby="runs-title">
        <h2 id="runs-title">Run history</h2>
        <RunHistory taskId={id} runs={runs} more={runs.length >= runLimit} onMore={() => setRunLimit((n) => n + RUNS_PAGE)} {...(runId === undefined ? {} : { opened: runId })} />
      </section>

      <section aria-labelledby="json-title">
        <h2 id="json-title">JSON</h2>
        <pre class="json" tabIndex={0}>{prettyJson(task)}</pre>
      </section>

      {backfilling && (
        <BackfillDialog
          taskId={id}
          schedule={statusScheduleInWords(status)}
          onCreated={(created) => {
            setBackfilling(false);
            backfills.put(created);
          }}
          onCancel={() => setBackfilling(false)}
        />
      )}

      {confirming && (
        <ConfirmDialog
          title={`Delete task ${id}?`}
          message="It stops being scheduled at once. Its run history stays."
          confirmLabel="Delete"
          onConfirm={() => void remove()}
          onCancel={() => {
            setConfirming(false);
            announce('Nothing was deleted.');
          }}
        />
      )}
    </section>
  );
}
