// How an executor is started under a script policy: node flags, environment, user and requirable modules.

import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { getPriority, setPriority } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScriptPolicy } from '../config.js';
import { executorUser } from './executor-user.js';
import { permissionFlags } from '../lib/node-permission.js';
import type { ExecutorInit } from './protocol.js';

/** Built-ins a strict script may require: what a network script needs and nothing that reaches the host. */
export const STRICT_BUILTINS: readonly string[] = [
  'http', 'https', 'url', 'querystring', 'crypto', 'util', 'events', 'buffer', 'stream', 'string_decoder',
  'zlib', 'timers', 'path', 'assert',
];

const executorDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'executor');
export const executorFile = path.join(executorDir, 'executor.cjs');

export interface LaunchOptions {
  readonly policy: ScriptPolicy;
  /** Heap cap of the executor's own thread (trusted scripts run on it). */
  readonly memoryMb: number;
  /** strict: heap cap of each task's worker. */
  readonly runMemoryMb: number;
  /** strict: task workers one executor keeps, idle ones included. */
  readonly maxWorkers: number;
  readonly drainMs: number;
  readonly resultMaxBytes: number;
  readonly logMaxBytes: number;
  /** Names of environment variables a strict script sees; under trusted, Director's own secrets named here are passed too. */
  readonly scriptEnv: readonly string[];
  readonly scriptModules: readonly string[];
  readonly scriptModulesDir: string | null;
  readonly scriptUser: string;
  readonly scriptNetwork: 'allow' | 'deny';
  /** Director's environment: copied whole under trusted, filtered under strict. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface ExecutorLaunch {
  readonly file: string;
  /** What fork() executes: node itself, or setpriv wrapping node (see withParentDeathSignal). */
  readonly execPath: string;
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly init: ExecutorInit;
  /** Things the operator should know (a module that is not installed, a uid that could not be used). */
  readonly warnings: readonly string[];
  /** Removes what the launch created (a copy of the executor for the unprivileged user). */
  readonly cleanup?: () => void;
}

const requireHere = createRequire(import.meta.url);

export function planExecutorLaunch(options: LaunchOptions): ExecutorLaunch {
  const warnings: string[] = [];
  const modulesDir = normaliseModulesDir(options.scriptModulesDir);
  const directorModules = packageRoot(requireHere.resolve('axios'), 'axios');
  const searchPaths = [modulesDir, path.dirname(directorModules)].filter((p): p is string => p !== null);
  const packages: Record<string, string> = { axios: requireHere.resolve('axios') };
  const builtins = new Set(STRICT_BUILTINS);
  for (const name of options.scriptModules) {
    if (isBuiltin(name)) {
      builtins.add(name.replace(/^node:/, ''));
      continue;
    }
    try {
      packages[name] = requireHere.resolve(name, { paths: searchPaths });
    } catch {
      warnings.push(`DIRECTOR_SCRIPT_MODULES names "${name}", which is not installed in ${modulesDir ?? 'DIRECTOR_SCRIPT_MODULES_DIR (unset)'}; scripts requiring it will fail`);
    }
  }
  const init: ExecutorInit = {
    type: 'init',
    policy: options.policy,
    builtins: [...builtins],
    packages,
    searchPaths,
    resultMaxBytes: options.resultMaxBytes,
    logMaxBytes: options.logMaxBytes,
    drainMs: options.drainMs,
    runMemoryMb: options.runMemoryMb,
    maxWorkers: options.maxWorkers,
    directorPid: process.pid,
  };
  const heap = `--max-old-space-size=${options.memoryMb}`;
  if (options.policy === 'trusted') {
    return { file: executorFile, ...withParentDeathSignal([heap]), env: trustedEnv(options.env, options.scriptEnv), cwd: process.cwd(), init, warnings };
  }
  const readable = [executorDir, ...new Set(Object.values(packages).flatMap((entry) => packageClosure(packageRootOf(entry))))];
  const user = executorUser(options.scriptUser, [executorFile, ...readable], warnings);
  const { mirror } = user;
  const at = (p: string): string => (mirror === undefined ? p : path.join(mirror, p));
  const execArgv = [
    ...permissionFlags(options.scriptNetwork),
    // Each task's worker is started by the executor itself; scripts cannot reach worker_threads.
    '--allow-worker',
    '--disable-warning=SecurityWarning',
    ...readable.map((dir) => `--allow-fs-read=${at(dir)}${path.sep}`),
    heap,
  ];
  const launch: ExecutorLaunch = {
    file: at(executorFile),
    ...withParentDeathSignal(execArgv),
    env: withoutNodeOptions(options.env, options.scriptEnv),
    cwd: at(executorDir),
    ...(user.uid !== undefined ? { uid: user.uid } : {}),
    ...(user.gid !== undefined ? { gid: user.gid } : {}),
    init: { ...init, packages: Object.fromEntries(Object.entries(packages).map(([name, entry]) => [name, at(entry)])) },
    warnings,
  };
  return mirror === undefined ? launch : { ...launch, cleanup: () => rmSync(mirror, { recursive: true, force: true }) };
}

/**
 * How much nicer (lower CPU priority) than Director executors run. When both want the CPU, Director's
 * timers, claims, fetches and hand-overs go first, so neither a burst of runs nor a script spinning
 * until its timeout makes slots late; a CPU Director leaves idle is still all the executors'.
 * Measured on 2 cores, 1,000 runs sharing a slot: hand-over p99 26–29 → 7–10 ms, start p99 ~100 ms less.
 */
export const EXECUTOR_NICENESS = 10;

/**
 * Lowers a freshly spawned executor's priority; false when the system refuses (it then runs as Director
 * does). An executor runs in a session of its own, and Linux (with autogroup scheduling, the default of
 * most distributions) shares the CPU fairly between sessions before niceness counts: the niceness of the
 * executor's session group is lowered too, else a busy executor would get as much CPU as Director.
 */
export function lowerExecutorPriority(pid: number): boolean {
  const niceness = Math.min(19, getPriority() + EXECUTOR_NICENESS);
  // With `nice` in the exec chain the threads are lowered already; lowering the process again here
  // would race with it (nice adds its step to whatever it finds) and end at 19.
  if (NICE === undefined) {
    try {
      setPriority(pid, niceness);
    } catch {
      return false;
    }
  }
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
  } catch {
    // no autogroup scheduling here: the niceness of the threads is all there is
  }
  return true;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

/**
 * An executor stuck in `for(;;){}` never notices that Director died (SIGKILL, OOM killer) and would
 * spin forever. setpriv (util-linux) sets PR_SET_PDEATHSIG before exec'ing node, so the kernel kills
 * the executor with its parent. Without setpriv, executors still exit when the IPC channel closes,
 * unless they are blocked.
 */
function withParentDeathSignal(nodeArgs: readonly string[]): { execPath: string; execArgv: string[] } {
  const node = [...niced(), process.execPath, ...nodeArgs];
  const [first, ...rest] = node as [string, ...string[]];
  if (SETPRIV === undefined || process.platform !== 'linux') return { execPath: first, execArgv: rest };
  return { execPath: SETPRIV, execArgv: ['--pdeathsig', 'KILL', '--', ...node] };
}

const NICE = ['/usr/bin/nice', '/bin/nice'].find((candidate) => existsSync(candidate));

/**
 * Niceness set on a running process applies to its main thread only (Linux schedules threads), while
 * node starts V8's and libuv's threads before any of its code runs; `nice` before the exec lowers all of
 * them, task workers included. lowerExecutorPriority after the spawn stays for systems without it.
 */
function niced(): string[] {
  return NICE === undefined ? [] : [NICE, '-n', String(Math.min(19, getPriority() + EXECUTOR_NICENESS) - getPriority())];
}

function isBuiltin(name: string): boolean {
  return name.startsWith('node:') || builtinModules.includes(name);
}

/** The operator may point at the folder where they ran `npm install`, or at its node_modules. */
function normaliseModulesDir(dir: string | null): string | null {
  if (dir === null) return null;
  if (path.basename(dir) === 'node_modules') return dir;
  const inner = path.join(dir, 'node_modules');
  return existsSync(inner) ? inner : dir;
}

/** NODE_OPTIONS could carry Director's own loaders (`--import tsx`) into the executor: never pass it. */
function withoutNodeOptions(env: Readonly<Record<string, string | undefined>>, only: readonly string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name === 'NODE_OPTIONS') continue;
    if (only === null || only.includes(name)) out[name] = value;
  }
  return out;
}

/** Director's own credentials: a trusted script has no business with them unless DIRECTOR_SCRIPT_ENV says so. */
const DIRECTOR_SECRETS = ['DIRECTOR_API_TOKENS', 'DIRECTOR_DATABASE_URL'];

function trustedEnv(env: Readonly<Record<string, string | undefined>>, listed: readonly string[]): Record<string, string> {
  const out = withoutNodeOptions(env, null);
  for (const name of DIRECTOR_SECRETS) if (!listed.includes(name)) delete out[name];
  return out;
}

function packageRoot(entry: string, name: string): string {
  let dir = path.dirname(entry);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && readManifest(manifest).name === name) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package folder of ${name} (from ${entry})`);
    dir = up;
  }
}

/** The package folder holding a resolved entry file: the nearest folder right under a node_modules. */
function packageRootOf(entry: string): string {
  const parts = entry.split(path.sep);
  const index = parts.lastIndexOf('node_modules');
  if (index < 0) return path.dirname(entry);
  const scoped = parts[index + 1]?.startsWith('@') === true;
  return parts.slice(0, index + (scoped ? 3 : 2)).join(path.sep);
}

interface Manifest {
  readonly name?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

function readManifest(file: string): Manifest {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return {};
  }
}

/** A package and every package it depends on, as folders (what the permission model must let it read). */
export function packageClosure(root: string, seen = new Set<string>()): string[] {
  if (seen.has(root)) return [...seen];
  seen.add(root);
  const manifest = readManifest(path.join(root, 'package.json'));
  const names = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies });
  for (const name of names) {
    const found = findInstalled(root, name);
    if (found !== null) packageClosure(found, seen);
  }
  return [...seen];
}

/** Node's lookup: `<dir>/node_modules/<name>` from the package's folder up to the root. */
function findInstalled(from: string, name: string): string | null {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name);
    // Real paths: Node loads a symlinked package (pnpm, npm link) from its target, and the permission
    // model checks the path Node actually reads.
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}
