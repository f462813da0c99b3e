// Environment → frozen, validated Config. Only main.ts reads process.env: to parse it here, and to hand it to the executors.
// Every variable is declared once in `settings` below with its default and meaning; README's
// configuration table is checked against this list by a test.

import { availableParallelism, hostname, totalmem } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { permissionSupport } from './lib/node-permission.js';
import { checkWebhookUrl, maskWebhookUrl, NOTIFY_EVENTS, type NotifyEvent } from './domain/notify-settings.js';

export type ScriptPolicy = 'strict' | 'trusted';
/** When the embedded store acknowledges a write: once it is on disk (full), or once committed (normal). */
export type SqliteSync = 'full' | 'normal';
export type Role = 'viewer' | 'operator' | 'admin';

export interface ApiToken {
  readonly name: string;
  readonly role: Role;
  /** SHA-256 of the token, hex: tokens are compared as hashes, in constant time. */
  readonly sha256: string;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly sqliteSync: SqliteSync;
  readonly databaseUrl: string | null;
  readonly assetsUrl: string;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  /** Origins allowed by CORS and for state-changing requests; `*` any (Governify); empty: none. */
  readonly corsOrigins: readonly string[];
  /** Host names (or host:port) requests may name besides loopback ones; `*` any; empty: loopback only. */
  readonly publicHosts: readonly string[];
  /** Case-insensitive pattern of config keys whose values viewers see masked; null: only URL passwords. */
  readonly maskKeys: string | null;
  /** Most bytes of one page of runs (GET …/runs); a page stops early when the next run would exceed it. */
  readonly runsPageMaxBytes: number;
  readonly executors: number;
  /** Runs in progress at once (fetching or executing); beyond it runs wait in order. */
  readonly maxRuns: number;
  /** Resident memory all executors together may use; each is killed past its share. */
  readonly executionMemoryMb: number;
  /** strict: heap cap of each task's worker. */
  readonly runMemoryMb: number;
  readonly runTimeoutMs: number;
  readonly manualRunTimeoutMs: number;
  readonly executorMemoryMb: number;
  readonly drainMs: number;
  readonly scriptPolicy: ScriptPolicy;
  readonly scriptEnv: readonly string[];
  readonly scriptModules: readonly string[];
  readonly scriptModulesDir: string | null;
  readonly scriptUser: string;
  /** Whether strict scripts may use the network; `deny` needs a Node whose permission model covers it (≥ 25). */
  readonly scriptNetwork: 'allow' | 'deny';
  readonly scriptOrigins: readonly string[];
  readonly fetchTimeoutMs: number;
  readonly scriptMaxBytes: number;
  readonly resultMaxBytes: number;
  readonly logMaxBytes: number;
  readonly catchUpMax: number;
  readonly leaseMs: number;
  readonly reconcileMs: number;
  readonly clockSkewMaxMs: number;
  readonly tasksDir: string | null;
  readonly apiTokens: readonly ApiToken[];
  readonly auth: boolean;
  readonly testEndpoint: boolean;
  readonly rateLimitPerMinute: number;
  /** Addresses (or CIDR ranges) of reverse proxies whose X-Forwarded-For names the client; empty: none. */
  readonly trustProxy: readonly string[];
  readonly shutdownGraceMs: number;
  readonly runsKeep: number;
  readonly runsMaxAgeMs: number;
  readonly instanceId: string;
  readonly govInfrastructure: string | null;
  /** Webhooks called for every task's notifications (a task's own `notify.webhooks` add to them). */
  readonly notifyWebhooks: readonly string[];
  /** Consecutive failures that make a task `failing`, unless its `notify.afterFailures` says otherwise. */
  readonly notifyAfterFailures: number;
  /** Events sent to the global webhooks, and to a task's own unless its `notify.events` says otherwise. */
  readonly notifyEvents: readonly NotifyEvent[];
  /** Director's address as people open it (dashboard links in notifications); null: the listening address. */
  readonly publicUrl: string | null;
  /** Most slots one backfill may cover: a bigger range is refused, to be split. */
  readonly backfillMaxSlots: number;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string, fix: string) {
    super(`${variable}: ${problem}. ${fix}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

interface Setting {
  readonly variable: string;
  readonly default: string;
  readonly meaning: string;
}

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const exampleAssetsDir = path.join(projectRoot, 'assets');

/** Every variable Director reads, with its default as documented. */
export const settings: readonly Setting[] = [
  { variable: 'PORT', default: '5800', meaning: 'HTTP port (the original Director\'s default).' },
  { variable: 'DIRECTOR_HOST', default: '127.0.0.1', meaning: 'Address to listen on. Another address without API tokens needs DIRECTOR_AUTH=off.' },
  { variable: 'DIRECTOR_DATA_DIR', default: './data', meaning: 'Folder of the embedded SQLite database (director.sqlite).' },
  { variable: 'DIRECTOR_SQLITE_SYNC', default: 'full', meaning: 'Embedded SQLite store only. full: a write is answered once it is on disk, so it survives a power cut. normal: answered once committed; survives a crash or kill -9 of Director, but a power cut may lose the last writes (sequential creates ~1.7× faster, see Benchmarks).' },
  { variable: 'DIRECTOR_DATABASE_URL', default: '(unset)', meaning: 'postgres://… selects the PostgreSQL store (cluster mode) instead of SQLite.' },
  { variable: 'DIRECTOR_ASSETS_URL', default: 'file: the shipped assets/ folder', meaning: 'Where scripts given by name live: an assets manager (http(s)://host, scripts under /api/v1/public/director/) or a local folder (file:/path or a plain path).' },
  { variable: 'LOG_LEVEL', default: 'info', meaning: 'pino level: fatal, error, warn, info, debug, trace or silent.' },
  { variable: 'DIRECTOR_BODY_LIMIT', default: '16777216', meaning: 'Largest accepted request body in bytes; larger bodies get 413.' },
  { variable: 'DIRECTOR_CORS_ORIGINS', default: '(none)', meaning: 'Comma-separated origins (e.g. https://ui.example) that browsers may call Director from: CORS answers them, and their POST/PUT/PATCH/DELETE are accepted. * opens both to any origin, as the original did (Governify deployments set it). By default only same-origin pages (the dashboard) and clients sending no Origin (curl, servers) may change anything.' },
  { variable: 'DIRECTOR_PUBLIC_HOSTS', default: '(none)', meaning: 'Comma-separated names (or name:port) requests may give in their Host header besides localhost, 127.0.0.0/8 and [::1]; * accepts any. Checked while Director listens on a loopback address (the default) and whenever set: it stops web pages from reaching a local Director through DNS rebinding. Behind a reverse proxy that passes its own Host, list that name.' },
  { variable: 'DIRECTOR_MASK_KEYS', default: 'pass|secret|token|key|auth|credential', meaning: 'Case-insensitive regular expression: in a task\'s config (and configuration) the values of keys matching it, at any depth, are shown masked ("***") to viewer tokens, as is the password of every URL in the task; operators and admins see everything. none masks URL passwords only.' },
  { variable: 'DIRECTOR_RUNS_PAGE_MAX_BYTES', default: '4194304', meaning: 'Most bytes of one page of GET /api/v1/tasks/{id}/runs: a page ends early (with nextOffset) rather than exceed it. Results and logs are left out of run lists unless asked for with ?include=result,logs.' },
  { variable: 'DIRECTOR_EXECUTORS', default: 'number of CPU cores', meaning: 'Executor processes. Each runs many scripts at once (a script waiting on I/O holds no executor); more processes only spread CPU-bound scripts over more cores.' },
  { variable: 'DIRECTOR_EXECUTION_MEMORY_MB', default: 'a quarter of the machine\'s memory, 1024 to 16384', meaning: 'Resident memory all executors together may use (task workers, heaps, Buffers). Each executor is killed past its share (this / DIRECTOR_EXECUTORS); its runs are recorded lost.' },
  { variable: 'DIRECTOR_MAX_RUNS', default: 'strict: (DIRECTOR_EXECUTION_MEMORY_MB − 64 per executor) / 15; trusted: 1000', meaning: 'Runs in progress at once (fetching or executing), and under strict the task workers kept warm. Beyond it runs wait in order (queued → started). Under strict each holds a worker thread of its task: ~10 MB resident, ~15 MB once a script has loaded axios (measured).' },
  { variable: 'DIRECTOR_RUN_MEMORY_MB', default: '128', meaning: 'strict: heap cap of each task\'s worker thread; a run past it fails (MemoryLimitExceeded) and no other task\'s run is touched.' },
  { variable: 'DIRECTOR_RUN_TIMEOUT_MS', default: '300000', meaning: 'Default timeout of a scheduled run (a task\'s `timeout` overrides it).' },
  { variable: 'DIRECTOR_MANUAL_RUN_TIMEOUT_MS', default: '1800000', meaning: 'Default timeout of /run and /tasks/test (backup scripts run for minutes).' },
  { variable: 'DIRECTOR_EXECUTOR_MEMORY_MB', default: '512', meaning: 'Heap cap of each executor\'s own thread, where trusted scripts run (strict ones run in task workers, see DIRECTOR_RUN_MEMORY_MB).' },
  { variable: 'DIRECTOR_DRAIN_MS', default: '5000', meaning: 'How long work a strict script leaves pending after main returns (an un-awaited request, a timer) may go on in its idle worker; past it the worker is ended. Under trusted such work goes on in the shared executor, as in the original.' },
  { variable: 'DIRECTOR_SCRIPT_POLICY', default: 'strict', meaning: 'strict: permission model, allow-listed require, clean env; trusted: full Node in the executor (Governify deployments).' },
  { variable: 'DIRECTOR_SCRIPT_ENV', default: '(empty)', meaning: 'Comma-separated names of environment variables passed to scripts under strict.' },
  { variable: 'DIRECTOR_SCRIPT_MODULES', default: '(empty)', meaning: 'Comma-separated extra modules scripts may require under strict (from DIRECTOR_SCRIPT_MODULES_DIR).' },
  { variable: 'DIRECTOR_SCRIPT_MODULES_DIR', default: '(unset)', meaning: 'A folder where the operator ran `npm install moment …` (or its node_modules): its packages become requirable.' },
  { variable: 'DIRECTOR_SCRIPT_USER', default: 'nobody', meaning: 'Unprivileged user executors run as under strict when Director runs as root.' },
  { variable: 'DIRECTOR_SCRIPT_NETWORK', default: 'allow', meaning: 'allow or deny: whether strict scripts may open network connections. deny needs Node 25 or newer (its permission model covers the network); on older Node start-up stops with that message.' },
  { variable: 'DIRECTOR_SCRIPT_ORIGINS', default: '(any)', meaning: 'Comma-separated URL prefixes a task\'s script must start with; others are rejected with 400.' },
  { variable: 'DIRECTOR_FETCH_TIMEOUT_MS', default: '10000', meaning: 'Timeout of one script (or sibling JSON) fetch.' },
  { variable: 'DIRECTOR_SCRIPT_MAX_BYTES', default: '5242880', meaning: 'Largest script accepted from the assets.' },
  { variable: 'DIRECTOR_RESULT_MAX_BYTES', default: '1048576', meaning: 'Largest JSON result kept with a run; larger results fail the run at stage serialize.' },
  { variable: 'DIRECTOR_LOG_MAX_BYTES', default: '262144', meaning: 'Captured console output kept per run (the rest is cut, marked as such).' },
  { variable: 'DIRECTOR_CATCH_UP_MAX', default: '100', meaning: 'Most missed slots replayed for a task with catchUp "all".' },
  { variable: 'DIRECTOR_LEASE_MS', default: '30000', meaning: 'Lease of a running run; a run whose owner stops renewing it is marked lost after this.' },
  { variable: 'DIRECTOR_RECONCILE_MS', default: '5000', meaning: 'Cluster mode: period of the full re-read of tasks that backs up LISTEN/NOTIFY.' },
  { variable: 'DIRECTOR_CLOCK_SKEW_MAX_MS', default: '1000', meaning: 'Cluster mode: warn at start-up when this clock and the database\'s differ by more.' },
  { variable: 'DIRECTOR_TASKS_DIR', default: '(unset)', meaning: 'Mirror every task as <dir>/<id>.json and pick up edits made there (Governify sets "tasks").' },
  { variable: 'DIRECTOR_API_TOKENS', default: '(none)', meaning: 'name:role:token,… with role viewer, operator or admin; token may be sha256:<hex>.' },
  { variable: 'DIRECTOR_AUTH', default: 'on', meaning: 'off allows listening beyond loopback without tokens (logged as a warning).' },
  { variable: 'DIRECTOR_TEST_ENDPOINT', default: 'on', meaning: 'off disables POST /api/v1/tasks/test.' },
  { variable: 'DIRECTOR_RATE_LIMIT', default: '0', meaning: 'Requests per minute per client address; 0 means no limit.' },
  { variable: 'DIRECTOR_TRUST_PROXY', default: '(none)', meaning: 'Comma-separated addresses or CIDR ranges of reverse proxies (e.g. 127.0.0.1,10.0.0.0/8): behind them the client address (rate limit, logs) is taken from X-Forwarded-For.' },
  { variable: 'DIRECTOR_SHUTDOWN_GRACE_MS', default: '30000', meaning: 'On SIGTERM, how long running scripts may finish before they are killed.' },
  { variable: 'DIRECTOR_RUNS_KEEP', default: '1000', meaning: 'Runs kept per task (older ones are trimmed in the background); 0 keeps all.' },
  { variable: 'DIRECTOR_RUNS_MAX_AGE_DAYS', default: '30', meaning: 'Runs older than this are trimmed; 0 keeps them regardless of age.' },
  { variable: 'DIRECTOR_INSTANCE_ID', default: 'hostname-pid-random', meaning: 'Name of this replica in run records, logs and PostgreSQL (application_name): at most 63 printable ASCII characters, unique per replica.' },
  { variable: 'DIRECTOR_NOTIFY_WEBHOOKS', default: '(none)', meaning: 'Comma-separated http(s) URLs POSTed a JSON notice when a run of any task fails, when a task has failed DIRECTOR_NOTIFY_AFTER_FAILURES times in a row, and when it recovers (see Notifications). A task\'s own notify.webhooks are called besides these. Shown as scheme://host/… in logs and answers.' },
  { variable: 'DIRECTOR_NOTIFY_AFTER_FAILURES', default: '3', meaning: 'Consecutive failed or timed-out runs that make a task "failing" (one notice per streak); a task\'s notify.afterFailures overrides it.' },
  { variable: 'DIRECTOR_NOTIFY_EVENTS', default: 'failed,failing,recovered', meaning: 'Comma-separated events sent to DIRECTOR_NOTIFY_WEBHOOKS, and to a task\'s own webhooks unless its notify.events lists others.' },
  { variable: 'DIRECTOR_PUBLIC_URL', default: 'http://DIRECTOR_HOST:PORT (the machine\'s name when listening on every address)', meaning: 'Director\'s address as people open it, e.g. https://director.example: notifications link to the run in the dashboard under it.' },
  { variable: 'DIRECTOR_BACKFILL_MAX_SLOTS', default: '10000', meaning: 'Most slots one backfill may cover; a request for a longer range gets a 400 and is to be split (see Backfill).' },
  { variable: 'GOV_INFRASTRUCTURE', default: '(unset)', meaning: 'Governify infrastructure YAML (path or URL) served at /commons/infrastructure.' },
];

function read(env: Env, variable: string): string | undefined {
  const value = env[variable];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, variable: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = read(env, variable);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new ConfigError(variable, `"${text}" is not a whole number`, `Set it to a number from ${min} to ${max}, or unset it for ${fallback}.`);
  const value = Number(text);
  if (value < min || value > max) throw new ConfigError(variable, `${value} is out of range`, `Set it to a number from ${min} to ${max}.`);
  return value;
}

function onOff(env: Env, variable: string, fallback: boolean): boolean {
  const text = read(env, variable)?.toLowerCase();
  if (text === undefined) return fallback;
  if (['on', 'true', '1', 'yes'].includes(text)) return true;
  if (['off', 'false', '0', 'no'].includes(text)) return false;
  throw new ConfigError(variable, `"${text}" is neither on nor off`, 'Set it to on or off.');
}

function list(env: Env, variable: string): string[] {
  return (read(env, variable) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function parseTokens(env: Env): ApiToken[] {
  return list(env, 'DIRECTOR_API_TOKENS').map((entry, index) => {
    const [name, role, ...rest] = entry.split(':');
    const secret = rest.join(':');
    const where = `entry ${index + 1}`;
    if (!name || !role || !secret) {
      throw new ConfigError('DIRECTOR_API_TOKENS', `${where} is not name:role:token`, 'Write each token as name:role:token, separated by commas.');
    }
    if (role !== 'viewer' && role !== 'operator' && role !== 'admin') {
      throw new ConfigError('DIRECTOR_API_TOKENS', `${where} ("${name}") has role "${role}"`, 'Use viewer, operator or admin.');
    }
    const hashed = /^sha256:([0-9a-f]{64})$/i.exec(secret);
    if (!hashed && secret.length < 16) {
      throw new ConfigError('DIRECTOR_API_TOKENS', `${where} ("${name}") has a token shorter than 16 characters`, 'Use a long random token, e.g. `openssl rand -hex 32`.');
    }
    return { name, role, sha256: hashed ? hashed[1]!.toLowerCase() : sha256Hex(secret) };
  });
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function assetsUrl(env: Env): string {
  const text = read(env, 'DIRECTOR_ASSETS_URL');
  if (text === undefined) return pathToFileURL(exampleAssetsDir).href;
  if (/^https?:\/\//i.test(text)) {
    try {
      return new URL(text).href.replace(/\/+$/, '');
    } catch {
      throw new ConfigError('DIRECTOR_ASSETS_URL', `"${text}" is not a valid URL`, 'Use http(s)://host[:port] of the assets manager or a folder path.');
    }
  }
  if (text.startsWith('file:')) return new URL(text).href;
  return pathToFileURL(path.resolve(text)).href;
}

/**
 * Only named proxies are trusted: trusting X-Forwarded-For from anyone would let every client pick the
 * address its rate limit is counted under.
 */
function proxyAddresses(env: Env): string[] {
  const entries = list(env, 'DIRECTOR_TRUST_PROXY');
  for (const entry of entries) {
    const [address = '', bits, ...rest] = entry.split('/');
    const version = isIP(address);
    const max = version === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max);
    if (version === 0 || !bitsOk || rest.length > 0) {
      throw new ConfigError('DIRECTOR_TRUST_PROXY', `"${entry}" is not an IP address or CIDR range`, 'List the proxies\' addresses, e.g. 127.0.0.1,10.0.0.0/8.');
    }
  }
  return entries;
}

/**
 * The instance id is also the PostgreSQL application_name, which keeps 63 printable ASCII characters:
 * longer or other ids would be cut or changed there, and replicas would not recognise themselves.
 */
function instanceId(env: Env): string {
  const text = read(env, 'DIRECTOR_INSTANCE_ID');
  if (text === undefined) return `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (!/^[\x20-\x7e]{1,63}$/.test(text)) {
    throw new ConfigError('DIRECTOR_INSTANCE_ID', `"${text}" is not 1 to 63 printable ASCII characters`, 'Use a short name such as director-1, unique per replica.');
  }
  return text;
}

/** A quarter of the machine's memory, within 1–16 GB: the executors' share beside Director and its store. */
export function executionMemoryDefault(totalBytes: number = totalmem()): number {
  return Math.min(16_384, Math.max(1024, Math.floor(totalBytes / 4 / 2 ** 20)));
}

/**
 * Runs in progress at once, derived from memory. Under strict each holds a worker thread: ~10 MB resident,
 * ~15 MB once the script loaded axios (measured on Node 20), on top of ~64 MB per executor process. Under
 * trusted runs share their executor's heap; what a waiting run holds is small, so the bound is a round
 * guard against runaway bursts.
 */
export function maxRunsDefault(policy: ScriptPolicy, executionMemoryMb: number, executors: number): number {
  if (policy === 'trusted') return 1000;
  return Math.max(1, Math.floor((executionMemoryMb - 64 * executors) / 15));
}

function scriptNetwork(env: Env): 'allow' | 'deny' {
  const value = read(env, 'DIRECTOR_SCRIPT_NETWORK')?.toLowerCase() ?? 'allow';
  if (value !== 'allow' && value !== 'deny') {
    throw new ConfigError('DIRECTOR_SCRIPT_NETWORK', `"${value}" is neither allow nor deny`, 'Use allow (default) or deny.');
  }
  if (value === 'deny' && !permissionSupport().restrictsNetwork) {
    throw new ConfigError('DIRECTOR_SCRIPT_NETWORK', `Node ${process.version} cannot deny scripts the network (its permission model does not cover it)`, 'Run Director on Node 25 or newer, or unset DIRECTOR_SCRIPT_NETWORK.');
  }
  return value;
}

/** Origins as browsers send them (scheme://host[:port], no path); `*` alone means any. */
function corsOrigins(env: Env): string[] {
  return list(env, 'DIRECTOR_CORS_ORIGINS').map((entry) => {
    if (entry === '*') return entry;
    try {
      const url = new URL(entry);
      if ((url.protocol === 'http:' || url.protocol === 'https:') && (url.pathname === '/' || url.pathname === '') && entry.replace(/\/$/, '') === url.origin) return url.origin;
    } catch {
      // reported below
    }
    throw new ConfigError('DIRECTOR_CORS_ORIGINS', `"${entry}" is not an origin`, 'List origins as scheme://host[:port] without a path (e.g. https://ui.example), or * for any.');
  });
}

function publicHosts(env: Env): string[] {
  return list(env, 'DIRECTOR_PUBLIC_HOSTS').map((entry) => {
    const host = entry.toLowerCase();
    if (host === '*' || hostnameOf(host) !== null) return host;
    throw new ConfigError('DIRECTOR_PUBLIC_HOSTS', `"${entry}" is not a host name`, 'List names as they appear in the Host header, e.g. director.example or director.example:8080, or * for any.');
  });
}

function maskKeys(env: Env): string | null {
  const text = read(env, 'DIRECTOR_MASK_KEYS') ?? 'pass|secret|token|key|auth|credential';
  if (text.toLowerCase() === 'none') return null;
  try {
    new RegExp(text, 'i');
  } catch (error) {
    throw new ConfigError('DIRECTOR_MASK_KEYS', `"${text}" is not a regular expression (${(error as Error).message})`, 'Give a pattern such as pass|secret|token, or none.');
  }
  return text;
}

function notifyWebhooks(env: Env): string[] {
  return list(env, 'DIRECTOR_NOTIFY_WEBHOOKS').map((entry, index) => {
    const checked = checkWebhookUrl(entry);
    if ('url' in checked) return checked.url;
    // The entry may hold its secret: named by position and masked form only.
    throw new ConfigError('DIRECTOR_NOTIFY_WEBHOOKS', `entry ${index + 1} (${maskWebhookUrl(entry)}) ${checked.problem}`, 'List http(s) URLs separated by commas.');
  });
}

function notifyEvents(env: Env): NotifyEvent[] {
  const entries = list(env, 'DIRECTOR_NOTIFY_EVENTS');
  if (entries.length === 0) return [...NOTIFY_EVENTS];
  for (const entry of entries) {
    if (!(NOTIFY_EVENTS as readonly string[]).includes(entry)) {
      throw new ConfigError('DIRECTOR_NOTIFY_EVENTS', `"${entry}" is not an event`, `List some of ${NOTIFY_EVENTS.join(', ')}, or unset it for all three.`);
    }
  }
  return [...new Set(entries as NotifyEvent[])];
}

function publicUrl(env: Env): string | null {
  const text = read(env, 'DIRECTOR_PUBLIC_URL');
  if (text === undefined) return null;
  try {
    const url = new URL(text);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '') return url.href.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  throw new ConfigError('DIRECTOR_PUBLIC_URL', `"${text}" is not an http(s) URL without query or fragment`, 'Give the address people open Director at, e.g. https://director.example or https://example.org/director.');
}

/** The host name of a Host header value (`name`, `name:port`, `[v6]:port`), lowercased; null when malformed. */
export function hostnameOf(host: string): string | null {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::\d{1,5})?$/i.exec(host.trim());
  return match ? match[1]!.toLowerCase().replace(/(?<=[a-z0-9])\.$/, '') : null;
}

/**
 * Loopback, parsed exactly: localhost, an IPv4 address in 127.0.0.0/8 (four decimal octets), or ::1.
 * A name such as 127.x.example is not: it is whatever its DNS says.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost') return true;
  if (isIPv4(name)) return name.startsWith('127.');
  if (isIPv6(name)) return new URL(`http://[${name}]/`).hostname === '[::1]';
  return false;
}

/** Reads the environment once; throws ConfigError naming the variable and the fix. */
export function loadConfig(env: Env = process.env): Config {
  const policy = read(env, 'DIRECTOR_SCRIPT_POLICY') ?? 'strict';
  if (policy !== 'strict' && policy !== 'trusted') {
    throw new ConfigError('DIRECTOR_SCRIPT_POLICY', `"${policy}" is not a policy`, 'Use strict (default) or trusted.');
  }
  const sqliteSync = read(env, 'DIRECTOR_SQLITE_SYNC')?.toLowerCase() ?? 'full';
  if (sqliteSync !== 'full' && sqliteSync !== 'normal') {
    throw new ConfigError('DIRECTOR_SQLITE_SYNC', `"${sqliteSync}" is not a sync mode`, 'Use full (default: answered once on disk) or normal (answered once committed).');
  }
  const databaseUrl = read(env, 'DIRECTOR_DATABASE_URL') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DIRECTOR_DATABASE_URL', 'only postgres:// URLs are supported', 'Unset it for the embedded SQLite store, or give postgres://user@host:5432/db.');
  }
  const logLevel = read(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `"${logLevel}" is not a level`, 'Use fatal, error, warn, info, debug, trace or silent.');
  }
  const modulesDir = read(env, 'DIRECTOR_SCRIPT_MODULES_DIR');
  const executors = integer(env, 'DIRECTOR_EXECUTORS', availableParallelism(), 1, 256);
  const executionMemoryMb = integer(env, 'DIRECTOR_EXECUTION_MEMORY_MB', executionMemoryDefault(), 64);
  const tasksDir = read(env, 'DIRECTOR_TASKS_DIR');
  const config: Config = {
    port: integer(env, 'PORT', 5800, 0, 65535),
    host: read(env, 'DIRECTOR_HOST') ?? '127.0.0.1',
    dataDir: path.resolve(read(env, 'DIRECTOR_DATA_DIR') ?? './data'),
    sqliteSync,
    databaseUrl,
    assetsUrl: assetsUrl(env),
    logLevel,
    bodyLimitBytes: integer(env, 'DIRECTOR_BODY_LIMIT', 16 * 1024 * 1024, 1024),
    corsOrigins: corsOrigins(env),
    publicHosts: publicHosts(env),
    maskKeys: maskKeys(env),
    runsPageMaxBytes: integer(env, 'DIRECTOR_RUNS_PAGE_MAX_BYTES', 4 * 1024 * 1024, 1024),
    executors,
    maxRuns: integer(env, 'DIRECTOR_MAX_RUNS', maxRunsDefault(policy, executionMemoryMb, executors), 1, 100_000),
    executionMemoryMb,
    runMemoryMb: integer(env, 'DIRECTOR_RUN_MEMORY_MB', 128, 16, 16_384),
    runTimeoutMs: integer(env, 'DIRECTOR_RUN_TIMEOUT_MS', 300_000, 1),
    manualRunTimeoutMs: integer(env, 'DIRECTOR_MANUAL_RUN_TIMEOUT_MS', 1_800_000, 1),
    executorMemoryMb: integer(env, 'DIRECTOR_EXECUTOR_MEMORY_MB', 512, 32),
    drainMs: integer(env, 'DIRECTOR_DRAIN_MS', 5000, 0),
    scriptPolicy: policy,
    scriptEnv: list(env, 'DIRECTOR_SCRIPT_ENV'),
    scriptModules: list(env, 'DIRECTOR_SCRIPT_MODULES'),
    scriptModulesDir: modulesDir === undefined ? null : path.resolve(modulesDir),
    scriptUser: read(env, 'DIRECTOR_SCRIPT_USER') ?? 'nobody',
    scriptNetwork: scriptNetwork(env),
    scriptOrigins: list(env, 'DIRECTOR_SCRIPT_ORIGINS'),
    fetchTimeoutMs: integer(env, 'DIRECTOR_FETCH_TIMEOUT_MS', 10_000, 1),
    scriptMaxBytes: integer(env, 'DIRECTOR_SCRIPT_MAX_BYTES', 5 * 1024 * 1024, 1),
    resultMaxBytes: integer(env, 'DIRECTOR_RESULT_MAX_BYTES', 1024 * 1024, 1),
    logMaxBytes: integer(env, 'DIRECTOR_LOG_MAX_BYTES', 256 * 1024, 0),
    catchUpMax: integer(env, 'DIRECTOR_CATCH_UP_MAX', 100, 1, 100_000),
    leaseMs: integer(env, 'DIRECTOR_LEASE_MS', 30_000, 1000),
    reconcileMs: integer(env, 'DIRECTOR_RECONCILE_MS', 5000, 100),
    clockSkewMaxMs: integer(env, 'DIRECTOR_CLOCK_SKEW_MAX_MS', 1000, 0),
    tasksDir: tasksDir === undefined ? null : path.resolve(tasksDir),
    apiTokens: parseTokens(env),
    auth: onOff(env, 'DIRECTOR_AUTH', true),
    testEndpoint: onOff(env, 'DIRECTOR_TEST_ENDPOINT', true),
    rateLimitPerMinute: integer(env, 'DIRECTOR_RATE_LIMIT', 0, 0),
    trustProxy: proxyAddresses(env),
    shutdownGraceMs: integer(env, 'DIRECTOR_SHUTDOWN_GRACE_MS', 30_000, 0),
    runsKeep: integer(env, 'DIRECTOR_RUNS_KEEP', 1000, 0),
    runsMaxAgeMs: integer(env, 'DIRECTOR_RUNS_MAX_AGE_DAYS', 30, 0, 36_500) * 24 * 3600 * 1000,
    instanceId: instanceId(env),
    govInfrastructure: read(env, 'GOV_INFRASTRUCTURE') ?? null,
    notifyWebhooks: notifyWebhooks(env),
    notifyAfterFailures: integer(env, 'DIRECTOR_NOTIFY_AFTER_FAILURES', 3, 1, 1000),
    notifyEvents: notifyEvents(env),
    publicUrl: publicUrl(env),
    backfillMaxSlots: integer(env, 'DIRECTOR_BACKFILL_MAX_SLOTS', 10_000, 1, 1_000_000),
  };
  validate(config);
  return Object.freeze(config);
}

/** Cross-field rules, each with the fix in its message. */
function validate(config: Config): void {
  if (config.auth && config.apiTokens.length === 0 && !isLoopbackHost(config.host)) {
    throw new ConfigError(
      'DIRECTOR_HOST',
      `listening on ${config.host} without API tokens would let anyone on the network run code on this host`,
      'Set DIRECTOR_API_TOKENS (name:role:token), or set DIRECTOR_AUTH=off to accept the risk explicitly.',
    );
  }
}

/** Test helper: a config with defaults and the given overrides, without touching process.env. */
export function testConfig(overrides: Partial<Config> = {}, env: Env = {}): Config {
  return Object.freeze({ ...loadConfig({ LOG_LEVEL: 'silent', ...env }), ...overrides });
}
