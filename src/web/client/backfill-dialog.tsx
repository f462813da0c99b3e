// "Backfill…": asks for a backfill of a past range, in UTC; the API's 400 or 409 is shown on the field
// it names (or above the fields), and the dialog stays open to correct it.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, taskPath } from './api-client.js';
import { useApp } from './app-context.js';
import { backfillBody, defaultBackfillFields, dialogField, instantOf, type BackfillFields } from './backfill-form-model.js';
import type { BackfillView } from './backfill-progress.js';
import { Modal } from './dialogs.js';
import { absoluteTime } from './format.js';
import type { FieldError } from './task-form-model.js';

interface Props {
  readonly taskId: string;
  /** The task's schedule in words ("every 1 min", "cron 0 3 * * * (Europe/Madrid)"): whose slots run again. */
  readonly schedule: string;
  readonly onCreated: (backfill: BackfillView) => void;
  readonly onCancel: () => void;
}

type Name = keyof BackfillFields;

export function BackfillDialog({ taskId, schedule, onCreated, onCancel }: Props) {
  const { api, announce } = useApp();
  const [fields, setFields] = useState<BackfillFields>(() => defaultBackfillFields(Date.now()));
  const [error, setError] = useState<FieldError | null>(null);
  const [saving, setSaving] = useState(false);

  const show = (problem: FieldError) => {
    setError(problem);
    setTimeout(() => document.getElementById(problem.field === '' ? 'backfill-error' : `backfill-${problem.field}`)?.focus(), 0);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const { body, error: invalid } = backfillBody(fields);
    if (invalid || !body) return show(invalid ?? { field: '', message: 'nothing to send' });
    setSaving(true);
    try {
      const created = await api.request<BackfillView>('POST', taskPath(taskId, '/backfills'), body);
      announce(`Backfill #${created.id} of ${taskId} started: ${created.slots.toLocaleString('en')} slot${created.slots === 1 ? '' : 's'}.`);
      onCreated(created);
    } catch (e) {
      show(e instanceof ApiError ? { field: dialogField(e.field), message: e.message } : { field: '', message: (e as Error).message });
    } finally {
      setSaving(false);
    }
  };

  const invalid = (name: Name) => error !== null && error.field === name;
  const input = (name: Name, label: string, hint: string, attributes: Record<string, string | number>) => (
    <DialogField name={name} label={label} hint={hint} error={invalid(name) ? error!.message : null}>
      <input
        id={`backfill-${name}`}
        name={name}
        value={fields[name]}
        required={name !== 'concurrency'}
        aria-invalid={invalid(name)}
        aria-describedby={`backfill-${name}-hint${invalid(name) ? ` backfill-${name}-error` : ''}`}
        onInput={(e) => setFields((f) => ({ ...f, [name]: e.currentTarget.value }))}
        {...attributes}
      />
    </DialogField>
  );
  // The browser's own time beside it, unless that is UTC too.
  const local = (value: string) => {
    const ms = instantOf(value);
    return ms === null || new Date(ms).getTimezoneOffset() === 0 ? '' : ` Your time: ${absoluteTime(ms)}.`;
  };

  return (
    <Modal title={`Backfill ${taskId}`} onCancel={onCancel} id="backfill">
      <form onSubmit={submit} noValidate class="backfill-form">
        <p>Runs each slot of <span class="task-id">{taskId}</span> ({schedule}) in the range again, oldest first, beside the runs it had.</p>
        <div id="backfill-error" tabIndex={-1} aria-live="assertive" class="form-errors">
          {error && error.field === '' && <p class="error" role="alert">{error.message}</p>}
        </div>
        {input('from', 'From (UTC)', `First instant, included.${local(fields.from)}`, { type: 'datetime-local' })}
        {input('to', 'To (UTC)', `End, excluded; not in the future.${local(fields.to)}`, { type: 'datetime-local' })}
        {input('concurrency', 'Concurrency', 'Runs at once, 1 to 100. 1: one slot after the other.', { type: 'number', min: 1, max: 100, step: 1, inputMode: 'numeric' })}
        <div class="dialog-buttons">
          <button type="button" onClick={onCancel}>Cancel</button>
          <button type="submit" class="primary" disabled={saving}>{saving ? 'Starting…' : 'Start backfill'}</button>
        </div>
      </form>
    </Modal>
  );
}

interface FieldProps {
  readonly name: Name;
  readonly label: string;
  readonly hint: string;
  readonly error: string | null;
  readonly children: ComponentChildren;
}

function DialogField({ name, label, hint, error, children }: FieldProps) {
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={`backfill-${name}`}>{label}</label>
      {children}
      <small id={`backfill-${name}-hint`} class="hint">{hint}</small>
      {error && <small id={`backfill-${name}-error`} class="field-error" role="alert">{error}</small>}
    </div>
  );
}
