// Starts Director as a real child process for crash, signal and cluster tests: the built dist/main.js, as
// production runs it, when it is newer than every source file; otherwise from source through tsx.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The newest modification time of the files under `dir` (tests included: cheap, and never wrong the other way). */
function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * `npm test` builds first, so replicas start from dist/: through tsx a start costs about twice the CPU
 * (measured: 1.4 s against 0.66 s), which on a two-core machine the replicas already running pay in
 * lateness while a replacement starts. A test run alone after an edit gets the source instead.
 */
function entryArgs(): string[] {
  const built = path.join(root, 'dist/main.js');
  try {
    if (statSync(built).mtimeMs >= newestMtimeMs(path.join(root, 'src'))) return [built];
  } catch {
    // not built: the source it is
  }
  return ['--import', 'tsx', path.join(root, 'src/main.ts')];
}

export interface DirectorProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startDirectorProcess(env: Record<string, string>, timeoutMs = 20_000): Promise<DirectorProcess> {
  const child = spawn(process.execPath, entryArgs(), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const url = await new Promise<string>((resolve, reject) => {
    // A replica that did not start in time is killed: nothing else would end it.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Director did not start within ${timeoutMs} ms:\n${text}`));
    }, timeoutMs);
    const look = () => {
      const match = /"url":"(http:\/\/[^"]+)"/.exec(text);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`Director exited (${code}) before listening:\n${text}`)); });
  });
  return { child, url, output: () => text, exited, kill: (signal = 'SIGTERM') => { child.kill(signal); } };
}
