// @ts-check
// Executor entry, spawned by executor-pool.ts: runs many scripts at once, speaking ../protocol.ts as
// frames (frames.cjs) on stdin (from Director) and fd 3 (to Director).
// Under strict each run goes to a worker thread of its task (script-worker.cjs), one run at a time: a
// worker never holds two tasks' code, and a run's timeout ends only its own worker. Idle workers are
// kept for their task's next run. Under trusted runs share this process's event loop, as they shared
// the original Director's.
// Plain CommonJS on purpose: it is run with plain `node` (no tsx) from src/ and from dist/ alike. It is
// type-checked against ../protocol.ts and ../worker-protocol.ts through JSDoc.
'use strict';

const net = require('node:net');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { encodeFrame, createFrameReader } = require('./frames.cjs');
const { createRealm, createRequire } = require('./sandbox.cjs');
const { startRun, uncaught } = require('./run-script.cjs');

/**
 * @typedef {import('../protocol.js').ExecutorInit} ExecutorInit
 * @typedef {import('../protocol.js').ToExecutor} ToExecutor
 * @typedef {import('../protocol.js').FromExecutorHeader} FromExecutorHeader
 * @typedef {import('../protocol.js').RunUpdate} RunUpdate
 * @typedef {import('../worker-protocol.js').ScriptRun} ScriptRun
 * @typedef {import('../worker-protocol.js').ToWorker} ToWorker
 * @typedef {import('../worker-protocol.js').FromWorker} FromWorker
 * @typedef {import('./sandbox.cjs').Realm} Realm
 * @typedef {import('./sandbox.cjs').ScriptRequire} ScriptRequire
 * @typedef {import('./run-script.cjs').StartedRun} StartedRun
 * @typedef {{ name: string, message: string }} EndReason Why a worker's run failed when it ended.
 *
 * @typedef {object} WorkerEntry A task's worker thread (strict), from its place in the start queue to its exit.
 * @property {string} taskKey
 * @property {Worker | null} worker Null until it leaves the start queue.
 * @property {ToWorker[]} inbox Messages kept until its Worker exists.
 * @property {boolean} started Ready (or gone): it no longer counts against MAX_STARTING.
 * @property {string | null} runId The run it is running; null while idle.
 * @property {number} lastUsedMs
 * @property {boolean} draining
 * @property {NodeJS.Timeout | undefined} drainTimer
 * @property {boolean} ending It takes no run any more, though it lives until terminate() is done.
 * @property {EndReason | null} endReason
 * @property {boolean} cancelled Its run was cancelled by Director, which has recorded it.
 */

const WORKER_FILE = path.join(__dirname, 'script-worker.cjs');
/** A worker that does not answer its drain within this much past the deadline is spinning: it is ended. */
const DRAIN_SLACK_MS = 1000;

const toDirector = new net.Socket({ fd: 3, readable: false, writable: true });
/**
 * @param {FromExecutorHeader} header
 * @param {Buffer | null} [body]
 */
const send = (header, body = null) => toDirector.write(encodeFrame(header, body));

/** Director's first message, before any other: nothing below runs until `start` has set it. @type {ExecutorInit} */
let init;
/** trusted: where every run's script is compiled, and what it may require (set by `start`). @type {Realm} */
let realm;
/** @type {ScriptRequire} */
let scriptRequire;
/** trusted: runs going on in this process, by id. @type {Map<string, StartedRun>} */
const runs = new Map();
/** strict: the workers of each task (idle or running one run), by task key. @type {Map<string, WorkerEntry[]>} */
const workers = new Map();
let workerCount = 0;
/** strict: the worker running each run, by run id. @type {Map<string, WorkerEntry>} */
const workerOfRun = new Map();

const reader = createFrameReader({
  maxFrameBytes: 2 ** 31 - 1,
  maxHeaderBytes: 2 ** 31 - 1,
  // Director is this process's parent and trusted: its frames are the protocol's messages.
  onFrame: ({ header, body }) => onDirector(/** @type {ToExecutor} */ (/** @type {unknown} */ (header)), body),
  onError: (reason) => {
    process.stderr.write(`director executor: unreadable message from Director (${reason})\n`);
    process.exit(70);
  },
});
process.stdin.on('data', (/** @type {Buffer} */ chunk) => reader.push(chunk));
// Director went away (or closed the pipe): nothing will ever ask this executor for anything again.
process.stdin.on('end', () => process.exit(0));
toDirector.on('error', () => process.exit(0));

/**
 * @param {ToExecutor} message
 * @param {Buffer} body
 */
function onDirector(message, body) {
  switch (message.type) {
    case 'init':
      return start(message);
    case 'run':
      return run({ ...message, source: body.toString('utf8') });
    case 'prepare':
      // trusted: nothing is per task (its runs share this executor's one context).
      if (init.policy === 'strict') prepare(message.taskKey);
      return;
    case 'cancel':
      return cancel(message.runId, message.reason);
    case 'abort':
      return abort(message.runId, message.reason);
    case 'forget':
      return forget(message.taskKey);
    case 'ping':
      return send({ type: 'pong', id: message.id });
  }
}

/** @param {ExecutorInit} message */
function start(message) {
  init = message;
  guardProcess(init.directorPid);
  if (init.policy === 'trusted') {
    realm = createRealm(init);
    scriptRequire = createRequire(init);
    // Warm: a first run should not pay for loading axios (tens of ms).
    if (init.packages.axios !== undefined) require(init.packages.axios);
    process.on('uncaughtException', (error) => onTrustedUncaught(error, 'uncaught exception'));
    process.on('unhandledRejection', (reason) => onTrustedUncaught(reason, 'unhandled rejection'));
  }
  send({ type: 'ready' });
}

/**
 * process.kill's internal binding (lib/internal/process/per_thread.js): every signal a script sends goes
 * through it, the real `process` it reaches through `require.constructor` included. Not in @types/node.
 * @typedef {{ _kill?: (pid: number, signal: number) => number }} ProcessKillBinding
 */

/**
 * Identity comes from values taken before any script ran, never from process.pid (writable in Node).
 * Under trusted a script may signal processes of its own, but never Director.
 * @param {number} directorPid
 */
function guardProcess(directorPid) {
  const internals = /** @type {NodeJS.Process & ProcessKillBinding} */ (process);
  const rawKill = internals._kill;
  if (typeof rawKill === 'function') {
    internals._kill = function kill(pid, signal) {
      return pid === directorPid || pid === -directorPid ? -1 : rawKill.call(process, pid, signal);
    };
  }
  for (const name of /** @type {const} */ (['pid', 'ppid'])) {
    const value = process[name];
    Object.defineProperty(process, name, { value, writable: false, configurable: false, enumerable: true });
  }
}

/** @param {ScriptRun & { readonly taskKey: string }} message */
function run(message) {
  if (init.policy === 'trusted') {
    /** @param {RunUpdate} out */
    const post = (out) => {
      if (out.type === 'end') runs.delete(out.runId);
      toDirectorMessage(out);
    };
    runs.set(message.runId, startRun({ realm, scriptRequire, init, post, dirname: process.cwd() }, message));
    return;
  }
  const entry = idleWorker(message.taskKey) ?? startWorker(message.taskKey);
  promote(entry);
  entry.runId = message.runId;
  entry.draining = false;
  clearTimeout(entry.drainTimer);
  workerOfRun.set(message.runId, entry);
  toWorker(entry, { type: 'run', runId: message.runId, source: message.source, filename: message.filename, config: message.config, context: message.context });
}

/** @param {string} taskKey */
function idleWorker(taskKey) {
  for (const entry of workers.get(taskKey) ?? []) if (entry.runId === null && !entry.ending) return entry;
  return undefined;
}

/**
 * Workers start a few at a time. A worker costs tens of ms of CPU to start; started all at once, a burst
 * of hundreds would share the cores until every one of them is ready, so no run would begin for
 * seconds. In turn, the first ones are ready at once. Runs waiting for a worker go before prepared ones.
 */
const MAX_STARTING = 2;
let starting = 0;
/** Entries whose Worker is not created yet: for runs, then for `prepare`. @type {{ runs: WorkerEntry[], prepared: WorkerEntry[] }} */
const startQueue = { runs: [], prepared: [] };

/**
 * strict `prepare`: the task gets a worker ahead of its slot, unless it has one (idle or still busy).
 * @param {string} taskKey
 */
function prepare(taskKey) {
  if (!workers.has(taskKey)) startWorker(taskKey, 'prepared');
}

/**
 * A worker for the task, queued to start. Beyond the warm limit, the longest idle worker makes room.
 * @param {string} taskKey
 * @param {keyof typeof startQueue} why
 * @returns {WorkerEntry}
 */
function startWorker(taskKey, why = 'runs') {
  if (workerCount >= init.maxWorkers) evictIdle();
  /** @type {WorkerEntry} */
  const entry = { taskKey, worker: null, inbox: [], started: false, runId: null, lastUsedMs: Date.now(), draining: false, drainTimer: undefined, ending: false, endReason: null, cancelled: false };
  const list = workers.get(taskKey);
  if (list === undefined) workers.set(taskKey, [entry]);
  else list.push(entry);
  workerCount += 1;
  startQueue[why].push(entry);
  startNext();
  return entry;
}

/**
 * A prepared worker not started yet that a run now waits for starts with the runs' workers.
 * @param {WorkerEntry} entry
 */
function promote(entry) {
  const at = entry.worker === null ? startQueue.prepared.indexOf(entry) : -1;
  if (at < 0) return;
  startQueue.prepared.splice(at, 1);
  startQueue.runs.push(entry);
}

/**
 * Sends to a worker, or keeps the message until its Worker exists.
 * @param {WorkerEntry} entry
 * @param {ToWorker} message
 */
function toWorker(entry, message) {
  if (entry.worker === null) entry.inbox.push(message);
  else entry.worker.postMessage(message);
}

function startNext() {
  while (starting < MAX_STARTING) {
    // A run's worker jumps the queue: it may be a prepared one whose task's slot has come.
    const entry = startQueue.runs.shift() ?? startQueue.prepared.shift();
    if (entry === undefined) return;
    if (entry.ending) continue;
    starting += 1;
    const worker = new Worker(WORKER_FILE, {
      workerData: init,
      env: { ...process.env },
      resourceLimits: { maxOldGenerationSizeMb: init.runMemoryMb, maxYoungGenerationSizeMb: Math.min(16, Math.max(1, init.runMemoryMb >> 3)), stackSizeMb: 4 },
    });
    entry.worker = worker;
    for (const message of entry.inbox.splice(0)) worker.postMessage(message);
    worker.on('message', (/** @type {unknown} */ message) => fromWorker(entry, message));
    worker.on('error', (/** @type {NodeJS.ErrnoException | undefined} */ error) => {
      entry.endReason = error && error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { name: 'MemoryLimitExceeded', message: `the script ran out of memory (heap limit ${init.runMemoryMb} MB, DIRECTOR_RUN_MEMORY_MB); its worker was ended` }
        : { name: 'WorkerError', message: `the task's worker failed: ${String(error && error.message)}` };
    });
    worker.on('exit', (code) => workerEnded(entry, code));
  }
}

/**
 * The worker is ready (or gone): another may start.
 * @param {WorkerEntry} entry
 */
function startDone(entry) {
  if (entry.worker === null || entry.started) return;
  entry.started = true;
  starting -= 1;
  startNext();
}

function evictIdle() {
  /** @type {WorkerEntry | null} */
  let oldest = null;
  for (const list of workers.values()) {
    for (const entry of list) {
      if (entry.runId === null && !entry.ending && (oldest === null || entry.lastUsedMs < oldest.lastUsedMs)) oldest = entry;
    }
  }
  if (oldest !== null) endWorker(oldest, null);
}

const RUN_UPDATES = new Set(['entered', 'log', 'late', 'end']);

/**
 * A worker runs untrusted code: what it says is checked, and is only believed about its own runs.
 * Anything else ends it (its runs fail), never this executor.
 * @param {WorkerEntry} entry
 * @param {unknown} data
 */
function fromWorker(entry, data) {
  if (data === null || typeof data !== 'object') return endWorker(entry, protocolError('a message that is not an object'));
  // What a well-behaved worker sends; every field used is checked below (or coerced when relayed).
  const message = /** @type {FromWorker} */ (data);
  if (message.type === 'ready') return startDone(entry);
  if (message.type === 'drained') {
    if (entry.runId === null && entry.draining) {
      entry.draining = false;
      clearTimeout(entry.drainTimer);
      if (message.pending === true) endWorker(entry, null);
    }
    return;
  }
  if (!isRunUpdate(message)) return endWorker(entry, protocolError(`a message of type ${String(message.type)}`));
  if (entry.runId !== message.runId) {
    // Late output of a run already reported is fine; anything else about a run it does not hold is not.
    if (message.type === 'late' || message.type === 'log') return;
    return endWorker(entry, protocolError('a message about a run it does not hold'));
  }
  if (message.type === 'end') {
    entry.runId = null;
    workerOfRun.delete(message.runId);
    startDrain(entry);
  }
  toDirectorMessage(message);
}

/**
 * The shape of a run update (its type, its run, and for an end, an outcome it may report).
 * @param {RunUpdate} message
 */
function isRunUpdate(message) {
  if (!RUN_UPDATES.has(message.type) || typeof message.runId !== 'string') return false;
  if (message.type !== 'end') return true;
  const end = /** @type {unknown} */ (message.end);
  return typeof end === 'object' && end !== null && 'outcome' in end && (end.outcome === 'succeeded' || end.outcome === 'failed');
}

/**
 * @param {string} what
 * @returns {EndReason}
 */
function protocolError(what) {
  return { name: 'ProtocolViolation', message: `the task's worker sent ${what}; it was ended` };
}

/** @param {WorkerEntry} entry */
function startDrain(entry) {
  entry.draining = true;
  entry.lastUsedMs = Date.now();
  const deadlineMs = Date.now() + init.drainMs;
  toWorker(entry, { type: 'drain', deadlineMs });
  clearTimeout(entry.drainTimer);
  entry.drainTimer = setTimeout(() => {
    if (entry.draining && entry.runId === null) endWorker(entry, null);
  }, init.drainMs + DRAIN_SLACK_MS);
  entry.drainTimer.unref();
}

/**
 * Ends a worker; its runs still going fail with `reason` (null: an idle worker, nothing to report).
 * @param {WorkerEntry} entry
 * @param {EndReason | null} reason
 */
function endWorker(entry, reason) {
  if (entry.ending) return;
  // From here on it takes no run, though it lives until terminate() is done.
  entry.ending = true;
  if (reason !== null) entry.endReason = reason;
  // Not started yet: there is no thread to end, only its place in the start queue (skipped when reached).
  if (entry.worker === null) workerEnded(entry, null);
  else void entry.worker.terminate();
}

/**
 * @param {WorkerEntry} entry
 * @param {number | null} code null: it never started
 */
function workerEnded(entry, code) {
  entry.ending = true;
  startDone(entry);
  clearTimeout(entry.drainTimer);
  const list = workers.get(entry.taskKey) ?? [];
  const at = list.indexOf(entry);
  if (at >= 0) {
    list.splice(at, 1);
    workerCount -= 1;
    if (list.length === 0) workers.delete(entry.taskKey);
  }
  const runId = entry.runId;
  entry.runId = null;
  if (runId === null) return;
  workerOfRun.delete(runId);
  if (entry.cancelled) return; // Director recorded it when it cancelled it
  const why = entry.endReason ?? { name: 'WorkerExited', message: code === null ? 'the run\'s worker was ended before it started' : `the script ended its worker (exit code ${code})` };
  send({ type: 'end', runId, outcome: 'failed', error: { stage: 'executor', ...why } }, Buffer.alloc(0));
}

/**
 * A run past its timeout (Director has recorded it): under strict its worker is ended, which stops any
 * code, even a loop that never yields, and touches no other run; under trusted its signal is aborted.
 * @param {string} runId
 * @param {string} reason
 */
function cancel(runId, reason) {
  if (init.policy === 'trusted') return abort(runId, reason);
  const entry = workerOfRun.get(runId);
  if (entry === undefined) return;
  entry.cancelled = true;
  endWorker(entry, null);
}

/**
 * Aborts the run's `context.signal` (shutdown): a cooperative script ends by itself.
 * @param {string} runId
 * @param {string} reason
 */
function abort(runId, reason) {
  if (init.policy === 'trusted') {
    runs.get(runId)?.abort.abort(new Error(reason));
    return;
  }
  const entry = workerOfRun.get(runId);
  if (entry !== undefined) toWorker(entry, { type: 'abort', runId, reason });
}

/** @param {string} taskKey */
function forget(taskKey) {
  if (init.policy === 'trusted') return;
  for (const entry of [...(workers.get(taskKey) ?? [])]) if (entry.runId === null) endWorker(entry, null);
}

/**
 * @param {unknown} error
 * @param {string} kind
 */
function onTrustedUncaught(error, kind) {
  const only = runs.size === 1 ? runs.values().next().value : undefined;
  if (!uncaught(error, kind, only)) {
    const stack = error ? /** @type {{ stack?: unknown }} */ (Object(error)).stack : undefined;
    process.stderr.write(`director executor: ${kind} that no run can be blamed for: ${String(stack || error)}\n`);
  }
}

/**
 * Relays one run update to Director as a frame: big text as the body, never JSON-escaped. Under strict
 * it comes from a worker, so its text fields are coerced; Director checks the frame again.
 * @param {RunUpdate} message
 */
function toDirectorMessage(message) {
  switch (message.type) {
    case 'entered':
      return send({ type: 'entered', runId: message.runId, atMs: Number(message.atMs) });
    case 'log':
    case 'late':
      return send({ type: message.type, runId: message.runId }, Buffer.from(String(message.text)));
    case 'end': {
      const { runId, end } = message;
      const logs = Buffer.from(String(end.logs));
      if (end.outcome === 'failed') return send({ type: 'end', runId, outcome: 'failed', error: end.error }, logs);
      const result = end.result === null ? null : Buffer.from(String(end.result));
      return send({ type: 'end', runId, outcome: 'succeeded', resultBytes: result === null ? -1 : result.length }, result === null ? logs : Buffer.concat([result, logs]));
    }
  }
}
