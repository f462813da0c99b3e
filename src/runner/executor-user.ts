// Which user strict executors run as when Director is root, and making what they load readable to it.

import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ExecutorUser {
  readonly uid?: number;
  readonly gid?: number;
  /** Set when the files had to be copied: every path the executor loads lives under this folder. */
  readonly mirror?: string;
}

/**
 * When Director runs as root, strict executors run as an unprivileged user, so the kernel stops them
 * from signalling Director or reading root-only files even past the permission model. That user must
 * read the executor and its modules: when the install folder is private (say, under /root), they are
 * copied, same absolute layout, into a world-readable temporary folder.
 */
export function executorUser(user: string, paths: readonly string[], warnings: string[]): ExecutorUser {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const ids = lookupUser(user);
  if (paths.every(readableByOthers)) return ids;
  const mirror = mkdtempSync(path.join(tmpdir(), 'director-executor-'));
  chmodSync(mirror, 0o755);
  for (const source of paths) {
    const target = path.join(mirror, source);
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(source, target, { recursive: true, dereference: true });
  }
  openUp(mirror);
  if (!readableByOthers(mirror)) {
    warnings.push(`strict executors run as root, not as "${user}": neither the install folder nor ${mirror} is readable by other users`);
    return {};
  }
  return { ...ids, mirror };
}

export function lookupUser(user: string): { uid: number; gid: number } {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(user);
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) };
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === user);
  const fields = line?.split(':');
  if (fields === undefined || fields.length < 4) {
    throw new Error(`DIRECTOR_SCRIPT_USER: no user "${user}" in /etc/passwd. Create it, or give uid:gid numbers.`);
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Every ancestor searchable and the path itself readable by "others" (the unprivileged user). */
export function readableByOthers(target: string): boolean {
  try {
    for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (path.dirname(dir) === dir) break;
    }
    const info = statSync(target);
    return (info.mode & 0o004) !== 0 && (!info.isDirectory() || (info.mode & 0o001) !== 0);
  } catch {
    return false;
  }
}

/** A copied tree keeps the source's modes (and root's umask may be 077): open it up explicitly. */
function openUp(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    const info = lstatSync(full);
    if (info.isDirectory()) openUp(full);
    else if (info.isFile()) chmodSync(full, (info.mode & 0o777) | 0o444);
  }
}
