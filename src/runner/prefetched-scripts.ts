// Scripts fetched a moment before their slot. A burst of hundreds of runs sharing a slot would otherwise
// begin with hundreds of HTTP round trips (64 at a time per origin), and the last script would start
// that much late. Each fetch is still one per run: it is made for one slot of one task and used by that
// slot's run only; it is dropped when the run does not come soon (another replica won the slot, the
// task changed) and never served once older than MAX_AGE_MS.

import type { FetchedScript } from '../assets/fetch-script.js';
import type { Task } from '../domain/task.js';

/**
 * A prefetched script not used within this (its run waited for a place, or never came) is fetched again:
 * three times the scheduler's lead (PREFETCH_AHEAD_MS, 1 s).
 */
const MAX_AGE_MS = 3000;
/** Beyond this many kept, no more is fetched ahead (runs fetch at their slot as before). */
const MAX_KEPT = 20_000;

interface Prefetched {
  readonly slotMs: number;
  readonly script: string;
  readonly fetchedAtMs: number;
  readonly text: Promise<FetchedScript>;
}

export interface PrefetchedScriptsDeps {
  readonly fetchScript: (script: string) => Promise<FetchedScript>;
  readonly now: () => number;
}

export interface PrefetchedScripts {
  /** Fetches the task's script now for its run at `slotMs` (once per slot). */
  fetch(task: Task, slotMs: number): void;
  /**
   * The script fetched for this slot of the task, if it is the task's script and fresh enough; it is
   * handed out once. A prefetch that failed rejects: the caller fetches again.
   */
  take(taskId: string, slotMs: number, script: string): Promise<FetchedScript> | undefined;
  /** The task changed or is gone: what was fetched for it is not used. */
  drop(taskId: string): void;
  size(): number;
}

export function createPrefetchedScripts(deps: PrefetchedScriptsDeps): PrefetchedScripts {
  /** By task: a task faster than the lead has the scripts of a few slots on their way at once. */
  const kept = new Map<string, Prefetched[]>();
  let count = 0;
  let sweptAtMs = Number.NEGATIVE_INFINITY;

  function remove(taskId: string, entries: Prefetched[], at: number): void {
    entries.splice(at, 1);
    count -= 1;
    if (entries.length === 0) kept.delete(taskId);
  }

  /** Entries whose run never came: swept at most once per MAX_AGE_MS, so a fetch costs O(1) on average. */
  function sweep(nowMs: number): void {
    if (nowMs - sweptAtMs < MAX_AGE_MS) return;
    sweptAtMs = nowMs;
    for (const [taskId, entries] of kept) {
      for (let i = entries.length - 1; i >= 0; i--) if (nowMs - (entries[i] as Prefetched).fetchedAtMs > MAX_AGE_MS) remove(taskId, entries, i);
    }
  }

  return {
    fetch(task, slotMs) {
      const nowMs = deps.now();
      sweep(nowMs);
      if (count >= MAX_KEPT) return;
      const entries = kept.get(task.id) ?? [];
      if (entries.some((entry) => entry.slotMs === slotMs)) return;
      const text = deps.fetchScript(task.script);
      // Nobody may ever take it: its failure is the run's to report when it does.
      text.catch(() => undefined);
      entries.push({ slotMs, script: task.script, fetchedAtMs: nowMs, text });
      count += 1;
      kept.set(task.id, entries);
    },
    take(taskId, slotMs, script) {
      const entries = kept.get(taskId);
      const at = entries?.findIndex((entry) => entry.slotMs === slotMs) ?? -1;
      if (entries === undefined || at < 0) return undefined;
      const entry = entries[at] as Prefetched;
      remove(taskId, entries, at);
      if (entry.script !== script || deps.now() - entry.fetchedAtMs > MAX_AGE_MS) return undefined;
      return entry.text;
    },
    drop(taskId) {
      count -= kept.get(taskId)?.length ?? 0;
      kept.delete(taskId);
    },
    size: () => count,
  };
}
