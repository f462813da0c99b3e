// Delivers notifications to webhooks: queued, a few at a time, retried with backoff, bounded. Nothing
// here ever throws at its caller or waits for a receiver: a run's outcome is recorded whatever
// becomes of its notifications.
//
// A notification is `delivered` on a 2xx; `failed` when its retries are spent or the answer says a
// retry cannot help (a 3xx or a 4xx other than 408 and 429); `dropped` when the queue is full or
// Director stops with it still pending.

import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { maskWebhookUrl, type NotifyEvent } from '../domain/notify-settings.js';

export interface Notification {
  readonly url: string;
  readonly event: NotifyEvent;
  /** The JSON body, already serialised. */
  readonly body: string;
  readonly taskId: string;
  readonly runId: number;
}

export type NotificationOutcome = 'delivered' | 'failed' | 'dropped';

/** One POST: resolves with the HTTP status, rejects on a network error or when `signal` aborts. */
export type PostJson = (url: string, body: string, headers: Record<string, string>, signal: AbortSignal) => Promise<number>;

export interface WebhookSenderDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly userAgent: string;
  readonly onOutcome: (event: NotifyEvent, outcome: NotificationOutcome) => void;
  /** Per attempt. */
  readonly timeoutMs?: number;
  /** Waits before the 2nd, 3rd, … attempt; its length + 1 is the number of attempts. */
  readonly retryDelaysMs?: readonly number[];
  /** Requests in flight at once. */
  readonly maxInFlight?: number;
  /** Notifications held at once (waiting, backing off or in flight); beyond it new ones are dropped. */
  readonly maxPending?: number;
  readonly post?: PostJson;
}

export interface WebhookSender {
  /** Queues a notification; never throws, never waits. */
  send(notification: Notification): void;
  /** Notifications not yet delivered, failed or dropped. */
  pending(): number;
  /**
   * Stops taking new ones, gives those pending up to `graceMs` of real time (in Director's shutdown,
   * after the runner: runs killed at shutdown are notified too), then drops the rest. Idempotent.
   */
  close(graceMs: number): Promise<void>;
}

export const DEFAULT_RETRY_DELAYS_MS = [1000, 4000, 16_000] as const;
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_IN_FLIGHT = 4;
const DEFAULT_MAX_PENDING = 1000;

interface Job {
  readonly notification: Notification;
  attempt: number;
  /** While backing off: the timer that puts it back in the queue. */
  wait?: TimerHandle;
  /** While in flight. */
  abort?: AbortController;
}

/** fetch without following redirects: a webhook that redirects is misconfigured, and a redirect may lead anywhere. */
export const postJson: PostJson = async (url, body, headers, signal) => {
  const response = await fetch(url, { method: 'POST', body, headers, signal, redirect: 'manual' });
  // The answer's body is not read; cancelling it frees the connection.
  await response.body?.cancel().catch(() => {});
  return response.status;
};

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function createWebhookSender(deps: WebhookSenderDeps): WebhookSender {
  const { clock, logger, onOutcome } = deps;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const delays = deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const maxInFlight = deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const maxPending = deps.maxPending ?? DEFAULT_MAX_PENDING;
  const post = deps.post ?? postJson;
  const headers = { 'content-type': 'application/json', 'user-agent': deps.userAgent };

  const ready: Job[] = [];
  const jobs = new Set<Job>();
  let inFlight = 0;
  let closed = false;
  let closing: Promise<void> | undefined;
  let onIdle: (() => void) | undefined;

  const describe = (job: Job) => ({
    webhook: maskWebhookUrl(job.notification.url), event: job.notification.event, taskId: job.notification.taskId, runId: job.notification.runId, attempt: job.attempt,
  });

  function end(job: Job, outcome: NotificationOutcome): void {
    if (!jobs.delete(job)) return;
    onOutcome(job.notification.event, outcome);
    if (jobs.size === 0) onIdle?.();
  }

  function pump(): void {
    while (!closed && inFlight < maxInFlight && ready.length > 0) void attempt(ready.shift()!);
  }

  async function attempt(job: Job): Promise<void> {
    job.attempt += 1;
    inFlight += 1;
    const abort = new AbortController();
    job.abort = abort;
    const timer = clock.setTimer(() => abort.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    let problem: string;
    let again: boolean;
    try {
      const status = await post(job.notification.url, job.notification.body, headers, abort.signal);
      if (status >= 200 && status < 300) {
        end(job, 'delivered');
        return;
      }
      problem = `answered ${status}`;
      again = retryable(status);
    } catch (error) {
      // fetch's own message is "fetch failed"; the reason is its cause.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      problem = abort.signal.aborted ? String((abort.signal.reason as Error | undefined)?.message ?? 'aborted') : cause?.code ?? cause?.message ?? (error as Error).message;
      again = true;
    } finally {
      timer.cancel();
      job.abort = undefined;
      inFlight -= 1;
      pump();
    }
    if (closed) return; // close() counts it as dropped
    const delay = again ? delays[job.attempt - 1] : undefined;
    if (delay === undefined) {
      logger.warn({ ...describe(job), problem }, `webhook ${problem}; notification not delivered${again ? ` after ${job.attempt} attempts` : ' (not retried)'}`);
      end(job, 'failed');
      return;
    }
    logger.info({ ...describe(job), problem }, `webhook ${problem}; retrying in ${delay} ms`);
    job.wait = clock.setTimer(() => {
      job.wait = undefined;
      ready.unshift(job);
      pump();
    }, delay);
  }

  return {
    send(notification) {
      const job: Job = { notification, attempt: 0 };
      if (closed || jobs.size >= maxPending) {
        logger.warn({ ...describe(job), pending: jobs.size }, closed
          ? 'notification dropped: Director is stopping'
          : `notification dropped: ${maxPending} already pending (webhooks too slow or down)`);
        onOutcome(notification.event, 'dropped');
        return;
      }
      jobs.add(job);
      ready.push(job);
      pump();
    },
    pending: () => jobs.size,
    close(graceMs) {
      closing ??= (async () => {
        // Real time, as the rest of Director's shutdown (a fake clock in tests would never end it).
        if (jobs.size > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            onIdle = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        closed = true;
        onIdle = undefined;
        if (jobs.size === 0) return;
        logger.warn({ dropped: jobs.size }, `Director is stopping: ${jobs.size} notification(s) still pending are dropped`);
        for (const job of [...jobs]) {
          job.wait?.cancel();
          job.abort?.abort(new Error('Director is stopping'));
          end(job, 'dropped');
        }
        ready.length = 0;
      })();
      return closing;
    },
  };
}
