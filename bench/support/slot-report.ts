// Turns recorded script fetches into per-slot lateness, missed and duplicate slots.

import type { Fetch } from './fetch-recorder.js';
import { PREFETCH_AHEAD_MS } from '../../src/scheduler/prepare-ahead.js';
import { percentile, round } from './scenario.js';

export interface BenchTask {
  readonly id: string;
  readonly initMs: number;
  readonly intervalMs: number;
}

export interface SlotReport {
  readonly expected: number;
  readonly ran: number;
  readonly missed: number;
  readonly duplicates: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Slots in [fromMs, toMs) are expected once each. A fetch belongs to the latest slot at or before it
 * plus `aheadMs` (Director fetches a script up to PREFETCH_AHEAD_MS before its slot; a run later than a
 * whole interval would therefore show as a duplicate plus a miss: honest enough).
 */
export function slotReport(tasks: readonly BenchTask[], fetches: readonly Fetch[], fromMs: number, toMs: number, aheadMs = PREFETCH_AHEAD_MS): SlotReport {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const seen = new Set<string>();
  const lateness: number[] = [];
  let duplicates = 0;
  for (const fetch of fetches) {
    const task = byId.get(fetch.taskId);
    if (task === undefined) continue;
    if (fetch.atMs + aheadMs < task.initMs) continue;
    const slot = task.initMs + Math.floor((fetch.atMs + aheadMs - task.initMs) / task.intervalMs) * task.intervalMs;
    if (slot < fromMs || slot >= toMs) continue;
    const key = `${slot}\u0000${task.id}`;
    if (seen.has(key)) {
      duplicates += 1;
      continue;
    }
    seen.add(key);
    lateness.push(fetch.atMs - slot);
  }
  let expected = 0;
  for (const task of tasks) {
    const first = Math.max(0, Math.ceil((fromMs - task.initMs) / task.intervalMs));
    const last = Math.ceil((toMs - task.initMs) / task.intervalMs) - 1;
    if (last >= first) expected += last - first + 1;
  }
  lateness.sort((a, b) => a - b);
  return {
    expected,
    ran: seen.size,
    missed: expected - seen.size,
    duplicates,
    p50: round(percentile(lateness, 50)),
    p90: round(percentile(lateness, 90)),
    p99: round(percentile(lateness, 99)),
    max: round(lateness.at(-1) ?? Number.NaN),
  };
}
