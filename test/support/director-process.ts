// Starts Director as a real child process (from source, through tsx) for crash, signal and cluster tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts')], {
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
