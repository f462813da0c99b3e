// Prometheus metrics: what Director does (runs, slots, lateness), what it has (tasks, executors) and
// how it is doing (HTTP, script fetches, store errors). Each Director owns its registry: tests build
// many Directors in one process, and prom-client's global registry would make them collide.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunRecord } from '../domain/run.js';
import type { DirectorEvents } from '../lib/events.js';
import type { RunnerState } from '../runner/runner.js';

export interface MetricsDeps {
  readonly events: DirectorEvents;
  readonly store: { countTasks(): Promise<{ total: number; running: number }> };
  /** Null when no executor pool exists (the pool gauges then read 0). */
  readonly runner: { poolState(): RunnerState } | null;
}

export interface Metrics {
  readonly contentType: string;
  /** The exposition text: this Director's metrics, then the process's (CPU, memory, event loop). */
  text(): Promise<string>;
  /** One fetch of a script (or its sibling JSON): how long it took and whether it worked. */
  observeFetch(seconds: number, ok: boolean): void;
  /** A store operation failed (whatever happens next: retry, 503, run recorded later). */
  storeError(operation: string): void;
  /** Slots that will never run (catch-up policy after downtime or a late wake-up). */
  slotsMissed(count: number): void;
  /** One answered HTTP request; `route` is the route pattern, never the raw URL (cardinality). */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** One failure notification ended: delivered (2xx), failed (retries spent or not retryable) or dropped (queue full, shutdown). */
  notification(event: string, outcome: 'delivered' | 'failed' | 'dropped'): void;
  /** Stops listening to events. */
  close(): void;
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

// CPU, memory, handles and GC belong to the process, not to one Director: collected once per process
// (prom-client's GC observer cannot be removed, so one per Director would pile up in tests).
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const runsTotal = new Counter({ name: 'director_runs_total', help: 'Finished runs by outcome and trigger', labelNames: ['outcome', 'trigger'], registers });
  const runDuration = new Histogram({
    name: 'director_run_duration_seconds', help: 'Run duration (start to end of the script) by outcome', labelNames: ['outcome'], registers,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
  });
  const lateness = new Histogram({
    name: 'director_slot_lateness_seconds', help: 'Scheduled runs: main() entered minus slot, queue wait included (the scheduler\'s quality figure)', registers,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const queueWait = new Histogram({
    name: 'director_run_queue_wait_seconds', help: 'Runs: main() entered minus queued (waiting for a place, fetching, starting a worker)', registers,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const slotsSkipped = new Counter({ name: 'director_slots_skipped_total', help: 'Slots recorded as skipped (overlap, or the record of missed slots)', registers });
  const slotsMissed = new Counter({ name: 'director_slots_missed_total', help: 'Slots that will never run (catch-up after downtime or a late wake-up)', registers });
  const runsLost = new Counter({ name: 'director_runs_lost_total', help: 'Runs whose executor or replica died (lease expired)', registers });
  const fetchDuration = new Histogram({
    name: 'director_script_fetch_duration_seconds', help: 'Script fetches by result', labelNames: ['result'], registers,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const storeErrors = new Counter({ name: 'director_store_errors_total', help: 'Failed store operations', labelNames: ['operation'], registers });
  const fetchFailures = new Counter({ name: 'director_script_fetch_failures_total', help: 'Script fetches that failed', registers });
  const httpDuration = new Histogram({
    name: 'director_http_request_duration_seconds', help: 'HTTP requests by route pattern, method and status', labelNames: ['route', 'method', 'status'], registers,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
  });

  const notifications = new Counter({
    name: 'director_notifications_total', help: 'Failure notifications (webhook calls) by event and outcome: delivered, failed, dropped', labelNames: ['event', 'outcome'], registers,
  });

  const tasks = new Gauge({ name: 'director_tasks', help: 'Stored tasks by state', labelNames: ['state'], registers });
  const executors = new Gauge({ name: 'director_executors', help: 'Executor processes in the pool', registers });
  const runsInProgress = new Gauge({ name: 'director_runs_in_progress', help: 'Runs fetching or executing (at most DIRECTOR_MAX_RUNS)', registers });
  const runsQueued = new Gauge({ name: 'director_runs_queued', help: 'Runs waiting for a place among the runs in progress', registers });

  // State is read before the registry serialises (not in prom-client's per-metric collect, which runs
  // concurrently with the others): a failing countTasks then shows in that very scrape's error count.
  async function readState(): Promise<void> {
    const pool = deps.runner?.poolState() ?? { executors: 0, running: 0, executing: 0, queued: 0, maxRuns: 0 };
    executors.set(pool.executors);
    runsInProgress.set(pool.running);
    runsQueued.set(pool.queued);
    try {
      const counts = await deps.store.countTasks();
      tasks.set({ state: 'running' }, counts.running);
      tasks.set({ state: 'stopped' }, counts.total - counts.running);
    } catch {
      // A scrape must not fail because the store does: the error is counted, the gauge keeps its value.
      storeErrors.inc({ operation: 'countTasks' });
    }
  }

  function onFinished(run: RunRecord): void {
    runsTotal.inc({ outcome: run.status, trigger: run.trigger });
    if (run.status === 'skipped') slotsSkipped.inc();
    if (run.status === 'lost') runsLost.inc();
    if (run.durationMs !== null && run.status !== 'skipped') runDuration.observe({ outcome: run.status }, run.durationMs / 1000);
    if (run.trigger === 'schedule' && run.latenessMs !== null && run.status !== 'skipped') lateness.observe(Math.max(0, run.latenessMs) / 1000);
    if (run.queuedMs !== null && run.startedMs !== null && run.status !== 'skipped') queueWait.observe(Math.max(0, run.startedMs - run.queuedMs) / 1000);
  }
  const off = deps.events.on('run:finished', onFinished);

  return {
    contentType: registry.contentType,
    async text() {
      await readState();
      return `${await registry.metrics()}\n${await processMetrics().metrics()}`;
    },
    observeFetch(seconds, ok) {
      fetchDuration.observe({ result: ok ? 'ok' : 'failed' }, seconds);
      if (!ok) fetchFailures.inc();
    },
    storeError(operation) {
      storeErrors.inc({ operation });
    },
    slotsMissed(count) {
      if (count > 0) slotsMissed.inc(count);
    },
    observeRequest(route, method, status, seconds) {
      httpDuration.observe({ route, method: HTTP_METHODS.has(method) ? method : 'OTHER', status: String(status) }, seconds);
    },
    notification(event, outcome) {
      notifications.inc({ event, outcome });
    },
    close: off,
  };
}
