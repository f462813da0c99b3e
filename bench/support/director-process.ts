// Starts the built Director (dist/main.js) as a real process and reads its CPU time and memory from /proc.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Linux reports CPU time in clock ticks; 100 per second on every mainstream kernel config. */
const CLK_TCK = 100;

export interface ProcessSample {
  readonly atMs: number;
  /** user + system CPU time of Director's own process, ms. */
  readonly cpuMs: number;
  /** user + system CPU time of Director and its children (executors), ms. */
  readonly treeCpuMs: number;
  readonly rssBytes: number;
  /** Resident memory of Director and its children (executors) now. */
  readonly treeRssBytes: number;
  /** Peak resident set size so far (VmHWM). */
  readonly peakRssBytes: number;
  /** CPU time of the whole machine (all cores, every process), ms. */
  readonly machineCpuMs: number;
  /** CPU time of this benchmark process (its assets server included), ms. */
  readonly benchCpuMs: number;
}

export interface DirectorProcess {
  readonly url: URL;
  readonly pid: number;
  /** From spawn to the "listening" log line. */
  readonly startMs: number;
  /** Lines Director logged at warn or above (kept for the report). */
  readonly problems: string[];
  /** Log lines whose msg matches, e.g. the scheduler's start-up line. */
  logged(pattern: RegExp): string | undefined;
  sample(): ProcessSample;
  stop(): Promise<void>;
}

function cpuTicks(pid: number): number {
  // Fields after the command name (which may contain spaces) start at index 2 of the split remainder.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Busy time of all cores from /proc/stat: user, nice, system, irq, softirq, steal (idle and iowait left out). */
function machineTicks(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

function statusKb(pid: number, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const visit = (p: number): void => {
    for (const child of children.get(p) ?? []) {
      out.push(child);
      visit(child);
    }
  };
  visit(pid);
  return out;
}

/** `nodeArgs` go before the script, e.g. ['--cpu-prof'] to profile Director. */
export async function startDirector(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<DirectorProcess> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(root, 'dist/main.js')], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const problems: string[] = [];
  let pending = '';
  const onLine = (line: string): void => {
    lines.push(line);
    const level = /"level":(\d+)/.exec(line);
    if (level && Number(level[1]) >= 40) problems.push(line);
  };
  child.stderr?.on('data', (chunk: Buffer) => problems.push(chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        onLine(line);
        const match = /"url":"(http:\/\/[^"]+)"/.exec(line);
        if (match) resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`Director exited with ${code} before listening: ${problems.join('\n')}`)));
  });
  const startMs = performance.now() - started;
  const pid = child.pid as number;
  return {
    url: new URL(url),
    pid,
    startMs,
    problems,
    logged: (pattern) => lines.find((line) => pattern.test(line)),
    sample() {
      const tree = descendants(pid);
      let treeTicks = cpuTicks(pid);
      let treeRssKb = statusKb(pid, 'VmRSS');
      for (const p of tree) {
        try {
          treeTicks += cpuTicks(p);
          treeRssKb += statusKb(p, 'VmRSS');
        } catch {
          // an executor that was replaced meanwhile
        }
      }
      return {
        atMs: Date.now(),
        cpuMs: (cpuTicks(pid) * 1000) / CLK_TCK,
        treeCpuMs: (treeTicks * 1000) / CLK_TCK,
        rssBytes: statusKb(pid, 'VmRSS') * 1024,
        treeRssBytes: treeRssKb * 1024,
        peakRssBytes: statusKb(pid, 'VmHWM') * 1024,
        machineCpuMs: (machineTicks() * 1000) / CLK_TCK,
        benchCpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage()),
      };
    },
    stop: () => new Promise((resolve) => {
      // A replica the benchmark SIGKILLed has exited with a signal, not a code.
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
