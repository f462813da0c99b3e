// One log line per finished run: what ran, for which slot, how it ended, how late and how long.
// Operators grep these; the run rows hold the full result, error and logs.

import type { RunRecord } from '../domain/run.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';

const MAX_ERROR_CHARS = 500;

export function runLogLine(run: RunRecord): Record<string, unknown> {
  return {
    taskId: run.taskId,
    slot: run.slot,
    attempt: run.attempt,
    trigger: run.trigger,
    outcome: run.status,
    latenessMs: run.latenessMs,
    durationMs: run.durationMs,
    runId: run.id,
    ...(run.error ? { error: { stage: run.error.stage, name: run.error.name, message: run.error.message.slice(0, MAX_ERROR_CHARS) } } : {}),
  };
}

/** Logs every run:finished; returns the unsubscribe function. */
export function startRunLog(deps: { readonly events: DirectorEvents; readonly logger: Logger }): () => void {
  const logger = deps.logger;
  return deps.events.on('run:finished', (run) => {
    logger.info(runLogLine(run), 'run finished');
  });
}
