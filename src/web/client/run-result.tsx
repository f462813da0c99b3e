// What "Run now" and the script test answered: the result, or the failure with its stage, and the logs.

import { prettyJson } from './format.js';
import type { RunOutcome } from './task-actions.js';

interface Props {
  readonly outcome: RunOutcome;
  readonly onClose?: () => void;
}

export function RunResult({ outcome, onClose }: Props) {
  const { logs } = outcome;
  return (
    <div class={`run-result ${outcome.ok ? 'ok' : 'failed'}`} role="region" aria-label="Run result">
      <div class="run-result-head">
        <h2>{outcome.ok ? 'Run succeeded' : 'Run failed'}</h2>
        {onClose && <button type="button" onClick={onClose} aria-label="Close the run result">Close</button>}
      </div>
      {outcome.ok ? (
        <>
          <h3>Result</h3>
          <pre class="result" tabIndex={0}>{prettyJson(outcome.result)}</pre>
        </>
      ) : (
        <p class="error">{outcome.message}{outcome.stage ? ` (stage: ${outcome.stage})` : ''}</p>
      )}
      <h3>Logs</h3>
      {logs ? <pre class="logs" tabIndex={0}>{logs}</pre> : <p>No output.</p>}
    </div>
  );
}
