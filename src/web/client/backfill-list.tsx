// A task's backfills, newest first: status, range in UTC (and in a cron task's zone), progress, who
// asked and when; an active one can be cancelled after a confirmation.

import { useState } from 'preact/hooks';
import { useApp } from './app-context.js';
import { backfillProgress, BACKFILL_STATUS_LABEL, isActiveBackfill, type BackfillView } from './backfill-progress.js';
import { ConfirmDialog } from './dialogs.js';
import { rangeText, utcTime, zonedTime } from './format.js';
import { When } from './task-table.js';
import type { Backfills } from './use-backfills.js';

interface Props {
  readonly taskId: string;
  readonly backfills: Backfills;
  /** A cron task's zone: its ranges are also shown there, as its next slots are. */
  readonly timezone: string | null;
  readonly now: number;
  readonly canCancel: boolean;
}

export function BackfillList({ taskId, backfills, timezone, now, canCancel }: Props) {
  const { announce } = useApp();
  const [confirming, setConfirming] = useState<BackfillView | null>(null);
  const { list, error } = backfills;
  if (list === null) return error ? <p class="error" role="alert">{error}</p> : <p aria-busy="true">Loading backfills…</p>;

  const cancel = async (backfill: BackfillView) => {
    setConfirming(null);
    await backfills.cancel(backfill.id);
  };

  return (
    <>
      {error && <p class="error" role="alert">{error}</p>}
      {list.length === 0 ? <p>No backfills yet.</p> : (
        <table class="backfills">
          <caption class="visually-hidden">Backfills of {taskId}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Backfill</th>
              <th scope="col">Status</th>
              <th scope="col">Range</th>
              <th scope="col">Progress</th>
              <th scope="col" title="Runs of the backfill at once">Concurrency</th>
              <th scope="col">Requested</th>
              <th scope="col">Finished</th>
              <th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {list.map((backfill) => (
              <BackfillRow key={backfill.id} backfill={backfill} timezone={timezone} now={now} canCancel={canCancel} onCancel={() => setConfirming(backfill)} />
            ))}
          </tbody>
        </table>
      )}
      {backfills.more && <button type="button" onClick={backfills.showMore}>Show older backfills</button>}
      {confirming && (
        <ConfirmDialog
          title={`Cancel backfill #${confirming.id}?`}
          message="No slot of it starts any more. Runs in flight finish first (it is “cancelling” until then); the runs it made stay in the history."
          confirmLabel="Cancel backfill"
          cancelLabel="Keep it"
          onConfirm={() => void cancel(confirming)}
          onCancel={() => {
            setConfirming(null);
            announce('The backfill goes on.');
          }}
        />
      )}
    </>
  );
}

interface RowProps {
  readonly backfill: BackfillView;
  readonly timezone: string | null;
  readonly now: number;
  readonly canCancel: boolean;
  readonly onCancel: () => void;
}

function BackfillRow({ backfill, timezone, now, canCancel, onCancel }: RowProps) {
  const progress = backfillProgress(backfill);
  const { id, status } = backfill;
  return (
    <tr data-backfill-id={id}>
      <td data-label="Backfill">#{id}</td>
      <td data-label="Status">
        <span class={`badge backfill-${status}`}>{BACKFILL_STATUS_LABEL[status] ?? status}</span>
        {backfill.reason && <small class="reason">{backfill.reason}</small>}
      </td>
      <td data-label="Range">
        <span class="range">
          <Range from={utcTime(backfill.fromMs)} to={utcTime(backfill.toMs)} />
          {timezone && <small class="zoned"><Range from={zonedTime(backfill.fromMs, timezone)} to={zonedTime(backfill.toMs, timezone)} /></small>}
        </span>
      </td>
      <td data-label="Progress">
        <span class="progress">
          <progress max={progress.total} value={progress.done} aria-label={`Backfill ${id}: ${progress.label}`} />
          <span>{progress.label}</span>
          {progress.outcomes.length > 0 && (
            <small class="outcomes">
              {progress.outcomes.map((outcome, i) => <span key={outcome.text} class={outcome.bad ? 'failing' : undefined}>{i > 0 ? ' · ' : ''}{outcome.text}</span>)}
            </small>
          )}
        </span>
      </td>
      <td data-label="Concurrency">{backfill.concurrency}</td>
      <td data-label="Requested">
        <span class="requested">
          <span>by {backfill.requestedBy}</span>
          <When ms={Date.parse(backfill.createdAt)} now={now} />
        </span>
      </td>
      <td data-label="Finished">{backfill.finishedAt ? <When ms={Date.parse(backfill.finishedAt)} now={now} /> : '—'}</td>
      <td data-label="Actions" class="actions">
        {canCancel && isActiveBackfill(status) && (
          <button type="button" class="danger" disabled={status === 'cancelling'} onClick={onCancel} aria-label={`Cancel backfill ${id}`}>
            {status === 'cancelling' ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </td>
    </tr>
  );
}

/** The range said once where its ends agree; it wraps before the arrow on a narrow screen. */
function Range({ from, to }: { readonly from: string; readonly to: string }) {
  const text = rangeText(from, to);
  return <span><span class="nowrap">{text.from}</span> <span class="nowrap">→ {text.to}</span></span>;
}
