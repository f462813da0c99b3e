// The figures every slot benchmark reports the same way: slots run, missed and duplicated, and lateness
// at the fetch, at the hand-over to a runner and at main()'s start.

import { percentile, type BenchResult } from './scenario.js';
import type { SlotReport } from './slot-report.js';

/** What a benchmark reads from the run rows of the measured window. */
export interface RunRowLateness {
  /** Recorded lateness (main() entered, as the executor reported it − slot), from the run rows; ascending. */
  readonly handOver: readonly number[];
  /** main() started in the executor − slot; ascending. */
  readonly start: readonly number[];
  /** Run rows by status, e.g. "succeeded 9990, failed 10". */
  readonly statuses: string;
  /** Slots of the window with a succeeded first attempt. */
  readonly succeededSlots: number;
  /** Slots of the window with two rows that are not skipped (the claim's unique key should make it 0). */
  readonly doubledSlots: number;
}

const spread = (sorted: readonly number[]): string =>
  [50, 90, 99].map((p) => percentile(sorted, p)).concat(sorted.at(-1) ?? Number.NaN).join(' / ');

export function slotFigures(report: SlotReport, rows: RunRowLateness): BenchResult {
  return {
    // From the run rows: a fetch is no longer a run (scripts are fetched ahead, and a prefetch the slot's
    // winner did not use, or whose slot was skipped, ran nothing).
    'slots expected': report.expected,
    'slots run (succeeded rows)': rows.succeededSlots,
    missed: report.expected - rows.succeededSlots,
    duplicates: rows.doubledSlots,
    'slots fetched / fetched twice': `${report.ran} / ${report.duplicates}`,
    'fetch − slot p50 (ms; < 0: fetched ahead)': report.p50,
    'fetch − slot p90 (ms; < 0: fetched ahead)': report.p90,
    'fetch − slot p99 (ms; < 0: fetched ahead)': report.p99,
    'fetch − slot max (ms; < 0: fetched ahead)': report.max,
    'recorded lateness p50/p90/p99/max (ms, run rows: entered − slot)': spread(rows.handOver),
    'start lateness p50/p90/p99/max (ms, main() ran)': spread(rows.start),
    'run rows in window by status': rows.statuses,
  };
}
