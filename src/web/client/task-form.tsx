// Create or edit a task: a form with the API's validation messages, or the raw JSON.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, taskPath } from './api-client.js';
import { useApp } from './app-context.js';
import { intervalInWords } from './format.js';
import { docFromFields, fieldsFromDoc, parseRaw, validateDoc, type FieldError, type TaskFields } from './task-form-model.js';
import { intervalOf, type TaskDoc } from './task-fields.js';
import { TaskFormFields } from './task-form-fields.js';
import { hrefOf, navigate } from './use-route.js';

const NEW_TASK: Partial<TaskDoc> = { script: 'hello.js', running: false, config: {} };

export function TaskForm({ id }: { readonly id?: string }) {
  const { api, announce } = useApp();
  const editing = id !== undefined;
  const [base, setBase] = useState<Record<string, unknown> | null>(editing ? null : {});
  const [fields, setFields] = useState<TaskFields>(() => fieldsFromDoc(NEW_TASK));
  const [mode, setMode] = useState<'form' | 'raw'>('form');
  const [raw, setRaw] = useState('');
  const [error, setError] = useState<FieldError | null>(null);
  const [saving, setSaving] = useState(false);
  const summary = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!editing) return;
    api.get<TaskDoc>(taskPath(id)).then(
      (doc) => {
        setBase(doc);
        setFields(fieldsFromDoc(doc));
      },
      (e: Error) => setError({ field: '', message: `Could not load task "${id}": ${e.message}` }),
    );
  }, [api, id, editing]);

  /** Moves focus to the field in error (or the summary), so keyboard and screen-reader users land on it. */
  const show = (problem: FieldError) => {
    setError(problem);
    setTimeout(() => {
      const input = document.getElementById(`task-${problem.field.split('.')[0]}`);
      (mode === 'form' && input ? input : summary.current)?.focus();
    }, 0);
  };

  const currentDoc = (): { doc?: Record<string, unknown>; error?: FieldError } => (mode === 'raw' ? parseRaw(raw) : docFromFields(fields, base ?? {}));

  const switchMode = (next: 'form' | 'raw') => {
    if (next === mode) return;
    if (next === 'raw') {
      const { doc } = docFromFields(fields, base ?? {});
      setRaw(JSON.stringify(doc, null, 2));
      setError(null);
      setMode('raw');
      return;
    }
    const parsed = parseRaw(raw);
    if (parsed.error || !parsed.doc) return show(parsed.error ?? { field: '', message: 'not a task' });
    setBase(parsed.doc);
    setFields(fieldsFromDoc(parsed.doc));
    setError(null);
    setMode('form');
  };

  const save = async (event: Event) => {
    event.preventDefault();
    const { doc, error: shapeError } = currentDoc();
    if (shapeError || !doc) return show(shapeError ?? { field: '', message: 'not a task' });
    const invalid = validateDoc(doc);
    if (invalid) return show(invalid);
    setSaving(true);
    try {
      let savedId: string;
      if (editing) {
        await api.request('PUT', taskPath(id), doc);
        savedId = id;
      } else {
        // POST replaces a task with the same id: creating must not overwrite one by accident.
        if (typeof doc.id === 'string' && doc.id !== '' && (await exists(doc.id))) {
          return show({ field: 'id', message: `id: a task "${doc.id}" exists already; edit it instead, or choose another id` });
        }
        const saved = await api.request<TaskDoc>('POST', '/api/v1/tasks', doc);
        savedId = String(saved.id);
      }
      announce(`Task ${savedId} ${editing ? 'saved' : 'created'}.`);
      navigate(hrefOf.task(savedId));
    } catch (e) {
      show(e instanceof ApiError ? { field: e.field ?? '', message: e.message } : { field: '', message: (e as Error).message });
    } finally {
      setSaving(false);
    }
  };

  async function exists(taskId: string): Promise<boolean> {
    try {
      await api.get(taskPath(taskId));
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return false;
      throw e;
    }
  }

  if (!base) return error ? <p class="error" role="alert">{error.message}</p> : <p aria-busy="true">Loading task {id}…</p>;
  const interval = intervalOf({ id: '', interval: fields.interval.trim() === '' ? undefined : fields.interval.trim() });

  return (
    <section aria-labelledby="form-title" class="task-form">
      <p><a href={editing ? hrefOf.task(id) : hrefOf.tasks()}>← {editing ? `Task ${id}` : 'All tasks'}</a></p>
      <h1 id="form-title">{editing ? `Edit task ${id}` : 'New task'}</h1>
      <div class="mode-switch" role="group" aria-label="Editing mode">
        <button type="button" aria-pressed={mode === 'form'} onClick={() => switchMode('form')}>Form</button>
        <button type="button" aria-pressed={mode === 'raw'} onClick={() => switchMode('raw')}>Raw JSON</button>
      </div>
      <form onSubmit={save} noValidate>
        <div ref={summary} tabIndex={-1} aria-live="assertive" class="form-errors">
          {error && <p class="error" role="alert" id="form-error">{error.message}</p>}
        </div>
        {mode === 'form' ? (
          <TaskFormFields fields={fields} onChange={(change) => setFields((f) => ({ ...f, ...change }))} error={error} editing={editing} intervalHint={fields.interval.trim() !== '' ? (interval === null ? '' : intervalInWords(interval)) : fields.cron.trim() !== '' ? 'Empty: the cron below decides.' : 'Leave empty for an on-demand task (or the script’s sibling JSON decides).'} />
        ) : (
          <div class="field">
            <label for="task-raw">Task JSON</label>
            <textarea id="task-raw" class="code" rows={18} spellcheck={false} value={raw} aria-invalid={error !== null} aria-describedby={error ? 'form-error' : undefined} onInput={(e) => setRaw(e.currentTarget.value)} />
          </div>
        )}
        <div class="form-buttons">
          <button type="submit" class="primary" disabled={saving}>{saving ? 'Saving…' : editing ? 'Save' : 'Create task'}</button>
          <a class="button" href={editing ? hrefOf.task(id) : hrefOf.tasks()}>Cancel</a>
        </div>
      </form>
    </section>
  );
}
