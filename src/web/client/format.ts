// Times and durations in words for people: "every 1 h", "in 5 min", "1.2 s".

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/** The two largest units of a span: 5_400_000 → "1 h 30 min"; below a minute, seconds with one decimal. */
export function spanInWords(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) {
    const s = abs / 1000;
    return `${Number.isInteger(s) || s >= 10 ? Math.round(s) : s.toFixed(1)} s`;
  }
  const parts: string[] = [];
  let rest = Math.round(abs / 1000) * 1000;
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
    if (parts.length === 1 && n === 0) break;
  }
  return parts.join(' ');
}

export function intervalInWords(intervalMs: number | null): string {
  return intervalMs === null ? 'on demand' : `every ${spanInWords(intervalMs)}`;
}

export function relativeTime(ms: number, now: number): string {
  const delta = ms - now;
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `in ${spanInWords(delta)}` : `${spanInWords(delta)} ago`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Local date and time, sortable and unambiguous: 2025-03-01 14:05:09. */
export function absoluteTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function durationInWords(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : spanInWords(ms);
}

export function plural(n: number, word: string): string {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
}

/** JSON for people: indented, and never throws on what JSON.stringify refuses. */
export function prettyJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? 'undefined';
  } catch {
    return String(value);
  }
}

/** Date and time in an IANA zone, with its offset (a repeated local time stays unambiguous): 2026-03-30 02:30:00 GMT+2. */
export function zonedTime(ms: number, zone: string): string {
  const options: Intl.DateTimeFormatOptions = { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' };
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', { ...options, timeZoneName: 'shortOffset' }).formatToParts(ms);
  } catch {
    // Browsers before 2022 know no 'shortOffset'; their short names ("CEST") say as much.
    parts = new Intl.DateTimeFormat('en-US', { ...options, timeZoneName: 'short' }).formatToParts(ms);
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')} ${part('timeZoneName')}`;
}

/** UTC date and time, as backfill ranges are asked for: 2025-03-01 14:05:09 UTC (seconds dropped when zero). */
export function utcTime(ms: number): string {
  const d = new Date(ms);
  const seconds = d.getUTCSeconds() === 0 && d.getUTCMilliseconds() === 0 ? '' : `:${pad(d.getUTCSeconds())}`;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds} UTC`;
}

/**
 * Two instants as one range, said once where they agree: the date when both fall on the same day, the
 * zone when both have the same ("2026-01-10 03:00 → 04:00 UTC"). Inputs as utcTime or zonedTime write them.
 */
export function rangeText(from: string, to: string): { readonly from: string; readonly to: string } {
  const zoneOf = (text: string) => text.slice(text.lastIndexOf(' ') + 1);
  const sameZone = zoneOf(from) === zoneOf(to) && /^(UTC|GMT|[A-Z]{2,5}|GMT[+-][\d:]+)$/.test(zoneOf(from));
  const sameDay = from.slice(0, 11) === to.slice(0, 11) && /^\d{4}-\d{2}-\d{2} $/.test(from.slice(0, 11));
  return {
    from: sameZone ? from.slice(0, from.lastIndexOf(' ')) : from,
    to: sameDay ? to.slice(11) : to,
  };
}
