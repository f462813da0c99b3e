// What a benchmark scenario is, for bench/run.ts, plus the few statistics helpers scenarios share.

export interface BenchOptions {
  /** How long the measured part lasts (`--seconds N`); scenarios may need set-up time on top. */
  readonly seconds: number;
}

/** Named figures, printed in order; numbers are printed as they are. */
export type BenchResult = Record<string, string | number>;

export interface BenchScenario {
  /** `group:name`, matched by `--only` (a group name selects all of its scenarios). */
  readonly name: string;
  readonly description: string;
  run(options: BenchOptions): Promise<BenchResult>;
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
