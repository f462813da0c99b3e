// Decides which failure notifications a finished run causes, and hands them to the webhook sender.
// It listens to `run:finished`, after the outcome is recorded, so no run ever waits for it: deciding
// reads the store (the task's settings, kept a minute; its failure streak), sending is queued.
//
// Events (see README "Notifications"):
//   failed     every run that ended failed, timed_out or lost
//   failing    the run that brought the task's consecutive failures to N, once per streak
//   recovered  a success that ends a streak of one failure or more
// The streak is the one /status shows (runStats): failed and timed-out runs since the last success;
// skipped and lost runs neither count nor break it (a lost run is its replica's misfortune more than
// the task's). Skipped runs and test runs notify nothing; manual runs (/run) are recorded runs, and do.
// Backfill runs notify nothing either and stay out of the streak: an operator recomputing a thousand
// past periods watches the backfill itself, and its failures say nothing of the live schedule's health.
//
// Once per run: `run:finished` is announced by the one process that recorded the outcome, or by the
// one whose conditional update declared the run lost. A process can announce a run twice (declared
// lost, then its late outcome, also `lost`), so the runs notified lately are remembered.

import type { Config } from '../config.js';
import type { RunRecord } from '../domain/run.js';
import type { NotifyEvent, NotifySettings } from '../domain/notify-settings.js';
import type { Clock } from '../lib/clock.js';
import type { DirectorEvents } from '../lib/events.js';
import { redactUrl, redactUrlsIn, type Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import type { WebhookSender } from './webhook-sender.js';

export interface NotifyOnRunsDeps {
  readonly events: DirectorEvents;
  readonly store: Pick<Store, 'getTask' | 'runStats' | 'failuresBefore'>;
  readonly config: Pick<Config, 'notifyWebhooks' | 'notifyAfterFailures' | 'notifyEvents' | 'instanceId'>;
  readonly sender: Pick<WebhookSender, 'send'>;
  readonly clock: Pick<Clock, 'now'>;
  readonly logger: Logger;
  /** Director's public address without a trailing slash; read per notification (known once listening). */
  readonly baseUrl: () => string;
}

export interface RunNotifier {
  /** Stops listening to runs. */
  stop(): void;
  /** Resolves once every decision in progress has handed its notifications to the sender. */
  idle(): Promise<void>;
}

/** The JSON body POSTed to a webhook (documented in README "Notifications"). */
export interface NotificationBody {
  readonly event: NotifyEvent;
  readonly task: { readonly id: string; readonly script: string | null };
  readonly run: {
    readonly id: number;
    readonly slot: string | null;
    readonly attempt: number;
    readonly trigger: string;
    readonly status: string;
    readonly queuedAt: string | null;
    readonly startedAt: string | null;
    readonly finishedAt: string | null;
    readonly durationMs: number | null;
  };
  readonly outcome: string;
  readonly error: { readonly stage: string; readonly name: string; readonly message: string } | null;
  readonly consecutiveFailures: number;
  readonly link: string;
  readonly director: string;
}

const ERROR_MESSAGE_MAX = 1000;
/** Run ids remembered against a second announcement; streaks remembered per task (see `failing`). */
const REMEMBERED_RUNS = 1000;
const REMEMBERED_STREAKS = 10_000;
/**
 * What a run's task says about notifications is kept this long, or until the task changes: most tasks
 * have no notify setting, and reading each one's task at every run (a round trip per run in cluster
 * mode) would cost the store for nothing. The expiry bounds how long a change is missed when its
 * announcement was (a cluster replica whose change feed reconnected re-reads tasks without announcing each).
 */
const TASK_CACHE_MS = 60_000;
const TASK_CACHE_MAX = 50_000;

/** What notifications need of a task (not its doc: configs may be large). Undefined: deleted. */
type TaskFacts = { readonly script: string; readonly notify: NotifySettings | null } | undefined;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function runLink(baseUrl: string, taskId: string, runId: number): string {
  return `${baseUrl}/#/tasks/${encodeURIComponent(taskId)}/runs/${runId}`;
}

export function notificationBody(input: {
  readonly event: NotifyEvent; readonly run: RunRecord; readonly task: TaskFacts;
  readonly consecutiveFailures: number; readonly link: string; readonly director: string;
}): NotificationBody {
  const { run } = input;
  const script = input.task?.script ?? run.scriptUrl;
  return {
    event: input.event,
    task: { id: run.taskId, script: script === null ? null : redactUrl(script) },
    run: {
      id: run.id,
      slot: iso(run.slot),
      attempt: run.attempt,
      trigger: run.trigger,
      status: run.status,
      queuedAt: iso(run.queuedMs),
      startedAt: iso(run.startedMs),
      finishedAt: iso(run.finishedMs),
      durationMs: run.durationMs,
    },
    outcome: run.status,
    error: run.error === null
      ? null
      : { stage: run.error.stage, name: run.error.name, message: redactUrlsIn(run.error.message).slice(0, ERROR_MESSAGE_MAX) },
    consecutiveFailures: input.consecutiveFailures,
    link: input.link,
    director: input.director,
  };
}

interface Target {
  readonly url: string;
  readonly events: ReadonlySet<NotifyEvent>;
}

export function notifyOnRuns(deps: NotifyOnRunsDeps): RunNotifier {
  const { store, config, sender, clock, logger } = deps;
  /** One decision at a time per task, in announcement order: the streak memory below relies on it. */
  const chains = new Map<string, Promise<void>>();
  const notified = new Set<number>();
  /**
   * The streak last read per task. Two failures recorded before either is read both read N+1: the
   * first then sees the streak pass N (from its remembered value) and sends `failing`; the second does not.
   */
  const streaks = new Map<string, number>();
  const facts = new Map<string, { readonly task: TaskFacts; readonly untilMs: number }>();
  /** Bumped by every task change: a read that a change overtook is not kept. */
  let generation = 0;

  async function taskOf(id: string): Promise<TaskFacts> {
    const now = clock.now();
    const known = facts.get(id);
    if (known !== undefined && known.untilMs > now) return known.task;
    const before = generation;
    const task = await store.getTask(id);
    const found: TaskFacts = task === undefined ? undefined : { script: task.script, notify: task.settings.notify };
    if (generation === before) remember(facts, id, { task: found, untilMs: now + TASK_CACHE_MS }, TASK_CACHE_MAX);
    return found;
  }

  /** Global webhooks with the global events, then the task's own; a URL in both gets the union. */
  function targetsOf(task: TaskFacts): Target[] {
    const byUrl = new Map<string, Set<NotifyEvent>>();
    const add = (urls: readonly string[], events: readonly NotifyEvent[]) => {
      for (const url of urls) {
        const set = byUrl.get(url) ?? new Set<NotifyEvent>();
        for (const event of events) set.add(event);
        byUrl.set(url, set);
      }
    };
    add(config.notifyWebhooks, config.notifyEvents);
    const own = task?.notify;
    if (own) add(own.webhooks, own.events ?? config.notifyEvents);
    return [...byUrl].map(([url, events]) => ({ url, events }));
  }

  function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) map.delete(map.keys().next().value as K);
  }

  async function decide(run: RunRecord): Promise<void> {
    const task = await taskOf(run.taskId);
    const targets = targetsOf(task);
    if (targets.length === 0) return;
    const wanted = (event: NotifyEvent) => targets.some((t) => t.events.has(event));
    const due: Array<{ event: NotifyEvent; consecutiveFailures: number }> = [];
    if (run.status === 'succeeded') {
      streaks.delete(run.taskId);
      if (!wanted('recovered')) return;
      const before = await store.failuresBefore(run.taskId, run.id);
      if (before > 0) due.push({ event: 'recovered', consecutiveFailures: before });
    } else {
      const counts = run.status !== 'lost';
      if (!wanted('failed') && !(counts && wanted('failing'))) return;
      const streak = (await store.runStats(run.taskId)).consecutiveFailures;
      if (wanted('failed')) due.push({ event: 'failed', consecutiveFailures: streak });
      if (counts) {
        const threshold = task?.notify?.afterFailures ?? config.notifyAfterFailures;
        const known = streaks.get(run.taskId);
        // Unknown, or from before a success this process did not see: this run added one.
        const seen = known !== undefined && known <= streak ? known : streak - 1;
        remember(streaks, run.taskId, streak, REMEMBERED_STREAKS);
        if (wanted('failing') && seen < threshold && streak >= threshold) due.push({ event: 'failing', consecutiveFailures: streak });
      }
    }
    const link = runLink(deps.baseUrl(), run.taskId, run.id);
    for (const { event, consecutiveFailures } of due) {
      const body = JSON.stringify(notificationBody({ event, run, task, consecutiveFailures, link, director: config.instanceId }));
      for (const target of targets) {
        if (target.events.has(event)) sender.send({ url: target.url, event, body, taskId: run.taskId, runId: run.id });
      }
    }
  }

  function onFinished(run: RunRecord): void {
    if (run.status === 'running' || run.status === 'skipped' || run.trigger === 'test' || run.trigger === 'backfill') return;
    if (notified.has(run.id)) return;
    notified.add(run.id);
    if (notified.size > REMEMBERED_RUNS) notified.delete(notified.values().next().value as number);
    const previous = chains.get(run.taskId) ?? Promise.resolve();
    const next = previous.then(() => decide(run)).catch((error: unknown) => {
      logger.warn({ err: error, taskId: run.taskId, runId: run.id }, 'deciding the notifications of a run failed (the store?); none are sent for it');
    });
    chains.set(run.taskId, next);
    void next.then(() => {
      if (chains.get(run.taskId) === next) chains.delete(run.taskId);
    });
  }

  const offRuns = deps.events.on('run:finished', onFinished);
  const offTasks = deps.events.on('task:changed', ({ id }) => {
    generation += 1;
    facts.delete(id);
  });
  return {
    stop() {
      offRuns();
      offTasks();
    },
    async idle() {
      while (chains.size > 0) await Promise.allSettled([...chains.values()]);
    },
  };
}
