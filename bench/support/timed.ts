// Times an async operation run N times in sequence and prints its mean, one line per figure.

export async function timed(label: string, unit: 'µs' | 'ms', runs: number, body: (i: number) => Promise<unknown>): Promise<void> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await body(i);
  const ns = Number(process.hrtime.bigint() - start) / runs;
  console.log(`${label.padEnd(44)} ${(unit === 'µs' ? ns / 1e3 : ns / 1e6).toFixed(unit === 'µs' ? 1 : 2).padStart(9)} ${unit}  (mean of ${runs})`);
}
