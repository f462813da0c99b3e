// A small SVG chart of run durations and lateness over time (oldest left), drawn without a library.

import { durationInWords } from './format.js';
import type { RunView } from './task-fields.js';

const WIDTH = 600;
const HEIGHT = 160;
const PAD = { left: 56, right: 8, top: 10, bottom: 22 };

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
  const lateness = finished.map((r) => r.latenessMs);
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
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label} preserveAspectRatio="none">
        <title>{label}</title>
        <line class="axis" x1={PAD.left} y1={HEIGHT - PAD.bottom} x2={WIDTH - PAD.right} y2={HEIGHT - PAD.bottom} />
        <line class="grid" x1={PAD.left} y1={PAD.top} x2={WIDTH - PAD.right} y2={PAD.top} />
        <text class="tick" x={PAD.left - 6} y={PAD.top + 4} text-anchor="end">{durationInWords(max)}</text>
        <text class="tick" x={PAD.left - 6} y={HEIGHT - PAD.bottom + 4} text-anchor="end">0</text>
        <text class="tick" x={PAD.left} y={HEIGHT - 6}>older</text>
        <text class="tick" x={WIDTH - PAD.right} y={HEIGHT - 6} text-anchor="end">newer</text>
        <path class="series duration" d={path(durations, x, y)} />
        <path class="series lateness" d={path(lateness, x, y)} />
        {durations.map((v, i) => (v === null ? null : <circle key={`d${i}`} class="dot duration" cx={x(i)} cy={y(v)} r={2.5} />))}
      </svg>
      <figcaption>
        <span class="legend duration">Duration</span> <span class="legend lateness">Lateness (start − slot)</span>
      </figcaption>
    </figure>
  );
}
