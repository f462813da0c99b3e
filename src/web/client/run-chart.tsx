// A small SVG chart of run durations and lateness over time (oldest left), drawn without a library.

import { durationInWords } from './format.js';
import type { RunView } from './task-fields.js';

const WIDTH = 600;
const HEIGHT = 160;
// Drawn stretched to the width of the page (preserveAspectRatio none): text lives in HTML around the SVG,
// strokes do not scale, and dots are round-capped zero-length strokes so they stay round.
const PAD = { left: 6, right: 6, top: 6, bottom: 6 };

function path(values: ReadonlyArray<number | null>, x: (i: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

export function RunChart({ runs }: { readonly runs: readonly RunView[] }) {
  const finished = runs.filter((r) => r.durationMs !== null).slice().reverse();
  if (finished.length < 2) return <p>The chart appears after two finished runs.</p>;
  const durations = finished.map((r) => r.durationMs);
  // A backfill runs past slots by design: hours of "lateness" that say nothing of the scheduler would flatten the rest.
  const lateness = finished.map((r) => (r.trigger === 'backfill' ? null : r.latenessMs));
  const numbers = [...durations, ...lateness].filter((v): v is number => v !== null);
  const max = Math.max(1, ...numbers);
  const x = (i: number) => PAD.left + (i * (WIDTH - PAD.left - PAD.right)) / (finished.length - 1);
  const y = (v: number) => HEIGHT - PAD.bottom - (Math.max(0, v) * (HEIGHT - PAD.top - PAD.bottom)) / max;
  const range = (values: ReadonlyArray<number | null>) => {
    const known = values.filter((v): v is number => v !== null);
    return known.length === 0 ? 'none' : `${durationInWords(Math.min(...known))} to ${durationInWords(Math.max(...known))}`;
  };
  const label = `Last ${finished.length} finished runs: duration ${range(durations)}; lateness ${range(lateness)}.`;

  return (
    <figure class="chart">
      <div class="chart-body">
        <div class="y-axis" aria-hidden="true"><span>{durationInWords(max)}</span><span>0</span></div>
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={label}>
          <title>{label}</title>
          <line class="grid" x1={0} y1={PAD.top} x2={WIDTH} y2={PAD.top} />
          <line class="axis" x1={0} y1={HEIGHT - PAD.bottom} x2={WIDTH} y2={HEIGHT - PAD.bottom} />
          <path class="series duration" d={path(durations, x, y)} />
          <path class="series lateness" d={path(lateness, x, y)} />
          <path class="dots duration" d={durations.map((v, i) => (v === null ? '' : `M${x(i).toFixed(1)},${y(v).toFixed(1)}l0,0`)).join('')} />
        </svg>
        <div class="x-axis" aria-hidden="true"><span>older</span><span>newer</span></div>
      </div>
      <figcaption>
        <span class="legend duration">Duration</span> <span class="legend lateness">Lateness (main() entered − slot)</span>
      </figcaption>
    </figure>
  );
}
