// Try a script without storing anything (POST /api/v1/tasks/test): an editor, a config, the outcome.

import { useState } from 'preact/hooks';
import { useApp } from './app-context.js';
import { RunResult } from './run-result.js';
import { requestRun, type RunOutcome } from './task-actions.js';
import { hrefOf } from './use-route.js';

const EXAMPLE = `// Director calls main(config, context) and records what it returns (JSON).
module.exports.main = async (config, context) => {
  console.log('hello from a test run', config);
  return { hello: config.name || 'world' };
};
`;

export function TestPane() {
  const { api } = useApp();
  const [script, setScript] = useState(EXAMPLE);
  const [config, setConfig] = useState('{\n  "name": "test"\n}');
  const [configError, setConfigError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [outcome, setOutcome] = useState<RunOutcome | null>(null);

  const run = async (event: Event) => {
    event.preventDefault();
    let scriptConfig: unknown = {};
    if (config.trim() !== '') {
      try {
        scriptConfig = JSON.parse(config);
      } catch (e) {
        setConfigError(`config: not valid JSON (${(e as Error).message})`);
        document.getElementById('test-config')?.focus();
        return;
      }
    }
    setConfigError(null);
    setRunning(true);
    setOutcome(null);
    try {
      setOutcome(await requestRun(api, '/api/v1/tasks/test', { scriptText: script, scriptConfig }));
    } catch (e) {
      setOutcome({ ok: false, message: (e as Error).message, stage: undefined, logs: '', runId: undefined });
    } finally {
      setRunning(false);
    }
  };

  // Tab inserts two spaces in the editor; Escape first, then Tab, leaves it (keyboard users are not trapped).
  const [escaped, setEscaped] = useState(false);
  const onKeyDown = (event: KeyboardEvent) => {
    const area = event.currentTarget as HTMLTextAreaElement;
    if (event.key === 'Escape') return setEscaped(true);
    if (event.key !== 'Tab' || event.shiftKey || escaped) return setEscaped(false);
    event.preventDefault();
    const { selectionStart: start, selectionEnd: end } = area;
    const next = `${script.slice(0, start)}  ${script.slice(end)}`;
    setScript(next);
    requestAnimationFrame(() => area.setSelectionRange(start + 2, start + 2));
  };

  return (
    <section aria-labelledby="test-title" class="test-pane">
      <p><a href={hrefOf.tasks()}>← All tasks</a></p>
      <h1 id="test-title">Test a script</h1>
      <p>Runs in an executor like a task would, with a manual-run timeout. Nothing is stored.</p>
      <form onSubmit={run}>
        <div class="field">
          <label for="test-script">Script (CommonJS, exports main)</label>
          <textarea id="test-script" class="code editor" rows={14} spellcheck={false} value={script} aria-describedby="test-script-hint" onKeyDown={onKeyDown} onInput={(e) => setScript(e.currentTarget.value)} />
          <small id="test-script-hint" class="hint">Tab indents; press Escape, then Tab, to move on.</small>
        </div>
        <div class={`field${configError ? ' invalid' : ''}`}>
          <label for="test-config">Config (JSON)</label>
          <textarea id="test-config" class="code" rows={4} spellcheck={false} value={config} aria-invalid={configError !== null} aria-describedby={configError ? 'test-config-error' : undefined} onInput={(e) => setConfig(e.currentTarget.value)} />
          {configError && <small id="test-config-error" class="field-error" role="alert">{configError}</small>}
        </div>
        <div class="form-buttons">
          <button type="submit" class="primary" disabled={running}>{running ? 'Running…' : 'Run test'}</button>
        </div>
      </form>
      <div aria-live="polite">
        {outcome && <RunResult outcome={outcome} />}
      </div>
    </section>
  );
}
