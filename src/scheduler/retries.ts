// When a failed scheduled run is tried again, and after how long. Pure.

import type { RunRecord } from '../domain/run.js';
import { MAX_INTERVAL_MS, type RetryPolicy } from '../domain/task.js';

/** Failed, timed out, or lost with its replica: those are worth another attempt; a skip is not. */
export function shouldRetry(policy: RetryPolicy | null, run: RunRecord): policy is RetryPolicy {
  if (policy === null || run.trigger !== 'schedule' || run.slot === null) return false;
  if (run.status !== 'failed' && run.status !== 'timed_out' && run.status !== 'lost') return false;
  // Attempt 1 is the slot's own run; `max` counts the retries after it.
  return run.attempt <= policy.max;
}

/** backoffMs · 2^(attempt−1) after the failed attempt, capped so a long series stays a finite wait. */
export function retryDelayMs(policy: RetryPolicy, failedAttempt: number): number {
  const exponent = Math.min(Math.max(0, failedAttempt - 1), 52);
  return Math.min(policy.backoffMs * 2 ** exponent, MAX_INTERVAL_MS);
}
