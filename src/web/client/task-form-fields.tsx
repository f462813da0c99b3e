// The task form's inputs; the one the error names is marked invalid and described by the message.

import type { ComponentChildren } from 'preact';
import type { FieldError, TaskFields } from './task-form-model.js';

interface Props {
  readonly fields: TaskFields;
  readonly onChange: (change: Partial<TaskFields>) => void;
  readonly error: FieldError | null;
  readonly editing: boolean;
  readonly intervalHint: string;
}

type TextField = 'id' | 'script' | 'interval' | 'cron' | 'timezone' | 'init' | 'end' | 'tags' | 'timeout';

export function TaskFormFields({ fields, onChange, error, editing, intervalHint }: Props) {
  const invalid = (name: string) => error !== null && error.field.split('.')[0] === name;
  const described = (name: string, hint?: string) => [hint ? `task-${name}-hint` : '', invalid(name) ? `task-${name}-error` : ''].filter(Boolean).join(' ') || undefined;

  const text = (name: TextField, label: string, options: { hint?: string; placeholder?: string; required?: boolean; readOnly?: boolean; inputMode?: 'numeric' } = {}) => (
    <Field name={name} label={label} hint={options.hint} error={invalid(name) ? error : null}>
      <input
        id={`task-${name}`}
        name={name}
        type="text"
        value={fields[name]}
        placeholder={options.placeholder}
        required={options.required}
        readOnly={options.readOnly}
        inputMode={options.inputMode}
        autoComplete="off"
        spellcheck={false}
        aria-invalid={invalid(name)}
        aria-describedby={described(name, options.hint)}
        onInput={(e) => onChange({ [name]: e.currentTarget.value })}
      />
    </Field>
  );

  return (
    <div class="form-grid">
      {text('id', 'Id', editing ? { readOnly: true, hint: 'The id of an existing task cannot change.' } : { hint: 'Leave empty for a generated id.', placeholder: 'e.g. nightly-report' })}
      {text('script', 'Script', { required: true, hint: 'An http(s) URL, or a name relative to the assets location, e.g. hello.js.' })}
      <div class="field checkbox">
        <input id="task-running" type="checkbox" checked={fields.running} onChange={(e) => onChange({ running: e.currentTarget.checked })} />
        <label for="task-running">Running (scheduled at its slots)</label>
      </div>
      {text('interval', 'Interval (ms)', { hint: intervalHint, placeholder: 'e.g. 3600000', inputMode: 'numeric' })}
      {text('cron', 'Cron (instead of interval)', { hint: 'Five fields (min hour day month weekday), or six with seconds first. Empty: none.', placeholder: 'e.g. 0 3 * * 1-5' })}
      {text('timezone', 'Time zone of the cron', { hint: 'IANA name. Empty: UTC. A local time skipped by DST does not run; one repeated runs once.', placeholder: 'e.g. Europe/Madrid' })}
      {text('init', 'Init', { hint: 'ISO-8601 (no offset means UTC) or epoch ms. Empty: from creation.', placeholder: '2025-01-01T00:00:00Z' })}
      {text('end', 'End', { hint: 'Optional: no slots from then on, and the task is removed.' })}
      {text('tags', 'Tags', { hint: 'Comma-separated, for filtering.' })}
      {text('timeout', 'Timeout (ms)', { hint: 'Empty: the configured default.', inputMode: 'numeric' })}
      <Field name="overlap" label="When a run is still going at the next slot" error={invalid('overlap') ? error : null}>
        <select id="task-overlap" value={fields.overlap} aria-invalid={invalid('overlap')} aria-describedby={described('overlap')} onChange={(e) => onChange({ overlap: e.currentTarget.value })}>
          <option value="">Default (skip)</option>
          <option value="skip">skip the slot</option>
          <option value="allow">allow a second run</option>
          <option value="queue">queue it</option>
        </select>
      </Field>
      <Field name="catchUp" label="Slots missed while Director was down" error={invalid('catchUp') ? error : null}>
        <select id="task-catchUp" value={fields.catchUp} aria-invalid={invalid('catchUp')} aria-describedby={described('catchUp')} onChange={(e) => onChange({ catchUp: e.currentTarget.value })}>
          <option value="">Default (skip)</option>
          <option value="skip">skip them</option>
          <option value="once">run once</option>
          <option value="all">run them all</option>
        </select>
      </Field>
      <div class={`field wide${invalid('config') ? ' invalid' : ''}`}>
        <label for="task-config">Config (JSON passed to main)</label>
        <textarea id="task-config" class="code" rows={6} spellcheck={false} value={fields.config} aria-invalid={invalid('config')} aria-describedby={described('config')} onInput={(e) => onChange({ config: e.currentTarget.value })} />
        {invalid('config') && <small id="task-config-error" class="field-error">{error!.message}</small>}
      </div>
    </div>
  );
}

interface FieldProps {
  readonly name: string;
  readonly label: string;
  readonly hint?: string | undefined;
  readonly error: FieldError | null;
  readonly children: ComponentChildren;
}

/** Label, input, hint and error of one field; a top-level component so inputs keep focus while typing. */
function Field({ name, label, hint, error, children }: FieldProps) {
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={`task-${name}`}>{label}</label>
      {children}
      {hint && <small id={`task-${name}-hint`} class="hint">{hint}</small>}
      {error && <small id={`task-${name}-error`} class="field-error">{error.message}</small>}
    </div>
  );
}
