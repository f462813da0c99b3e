// Executor entry, spawned by executor-pool.ts: runs many scripts at once, speaking ../protocol.ts as
// frames (frames.cjs) on stdin (from Director) and fd 3 (to Director).
// Under strict each run goes to a worker thread of its task (script-worker.cjs), one run at a time: a
// worker never holds two tasks' code, and a run's timeout ends only its own worker. Idle workers are
// kept for their task's next run. Under trusted runs share this process's event loop, as they shared
// the original Director's.
// Plain CommonJS on purpose: it is run with plain `node` (no tsx) from src/ and from dist/ alike.
'use strict';

const net = require('node:net');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { encodeFrame, createFrameReader } = require('./frames.cjs');
const { createRealm, createRequire } = require('./sandbox.cjs');
const { startRun, uncaught } = require('./run-script.cjs');

const WORKER_FILE = path.join(__dirname, 'script-worker.cjs');
/**
 * trusted: tasks' contexts kept, and contexts made ahead for announced runs, at most (~180 KB each): this
 * executor's share of DIRECTOR_MAX_RUNS, at least 256. A task's runs come to the executor that ran it.
 */
const MIN_KEPT_CONTEXTS = 256;
/** A worker that does not answer its drain within this much past the deadline is spinning: it is ended. */
const DRAIN_SLACK_MS = 1000;

const toDirector = new net.Socket({ fd: 3, readable: false, writable: true });
const send = (header, body = null) => toDirector.write(encodeFrame(header, body));

let init = null;
/** trusted: runs going on in this process, by id. */
const runs = new Map();
/** strict: the workers of each task (idle or running one run), by task key. */
const workers = new Map();
let workerCount = 0;
/** strict: the worker running each run, by run id. */
const workerOfRun = new Map();

const reader = createFrameReader({
  maxFrameBytes: 2 ** 31 - 1,
  maxHeaderBytes: 2 ** 31 - 1,
  onFrame: ({ header, body }) => onDirector(header, body),
  onError: (reason) => {
    process.stderr.write(`director executor: unreadable message from Director (${reason})\n`);
    process.exit(70);
  },
});
process.stdin.on('data', (chunk) => reader.push(chunk));
// Director went away (or closed the pipe): nothing will ever ask this executor for anything again.
process.stdin.on('end', () => process.exit(0));
toDirector.on('error', () => process.exit(0));

function onDirector(message, body) {
  switch (message.type) {
    case 'init':
      return start(message);
    case 'run':
      return run({ ...message, source: body.toString('utf8') });
    case 'prepare':
      if (init.policy === 'strict') prepare(message.taskKey);
      else init.realm.expect(message.taskKey, keptContexts());
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

const keptContexts = () => Math.max(MIN_KEPT_CONTEXTS, init.maxWorkers);

function start(message) {
  init = message;
  guardProcess(init.directorPid);
  if (init.policy === 'trusted') {
    init.realm = createRealm(init, keptContexts());
    init.scriptRequire = createRequire(init);
    // Warm: a first run should not pay for loading axios (tens of ms).
    if (init.packages.axios !== undefined) require(init.packages.axios);
    process.on('uncaughtException', (error) => onTrustedUncaught(error, 'uncaught exception'));
    process.on('unhandledRejection', (reason) => onTrustedUncaught(reason, 'unhandled rejection'));
  }
  send({ type: 'ready' });
}

/**
 * Identity comes from values taken before any script ran, never from process.pid (writable in Node).
 * Under trusted a script may signal processes of its own, but never Director.
 */
function guardProcess(directorPid) {
  const rawKill = process._kill;
  if (typeof rawKill === 'function') {
    process._kill = function kill(pid, signal) {
      return pid === directorPid || pid === -directorPid ? -1 : rawKill.call(process, pid, signal);
    };
  }
  for (const name of ['pid', 'ppid']) {
    const value = process[name];
    Object.defineProperty(process, name, { value, writable: false, configurable: false, enumerable: true });
  }
}

function run(message) {
  if (init.policy === 'trusted') {
    const post = (out) => {
      if (out.type === 'done' || out.type === 'failed') runs.delete(out.runId);
      toDirectorMessage(out);
    };
    runs.set(message.runId, startRun({ realm: init.realm, scriptRequire: init.scriptRequire, init, post, dirname: process.cwd() }, message));
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
/** Entries whose Worker is not created yet: for runs, then for `prepare`. */
const startQueue = { runs: [], prepared: [] };

/** strict `prepare`: the task gets a worker ahead of its slot, unless it has one (idle or still busy). */
function prepare(taskKey) {
  if (!workers.has(taskKey)) startWorker(taskKey, 'prepared');
}

/** A worker for the task, queued to start. Beyond the warm limit, the longest idle worker makes room. */
function startWorker(taskKey, why = 'runs') {
  if (workerCount >= init.maxWorkers) evictIdle();
  const entry = { taskKey, worker: null, inbox: [], started: false, runId: null, lastUsedMs: Date.now(), draining: false, drainTimer: undefined, ending: false, endReason: null, cancelled: false };
  const list = workers.get(taskKey);
  if (list === undefined) workers.set(taskKey, [entry]);
  else list.push(entry);
  workerCount += 1;
  startQueue[why].push(entry);
  startNext();
  return entry;
}

/** A prepared worker not started yet that a run now waits for starts with the runs' workers. */
function promote(entry) {
  const at = entry.worker === null ? startQueue.prepared.indexOf(entry) : -1;
  if (at < 0) return;
  startQueue.prepared.splice(at, 1);
  startQueue.runs.push(entry);
}

/** Sends to a worker, or keeps the message until its Worker exists. */
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
    entry.worker = new Worker(WORKER_FILE, {
      workerData: publicInit(),
      env: { ...process.env },
      resourceLimits: { maxOldGenerationSizeMb: init.runMemoryMb, maxYoungGenerationSizeMb: Math.min(16, Math.max(1, init.runMemoryMb >> 3)), stackSizeMb: 4 },
    });
    for (const message of entry.inbox.splice(0)) entry.worker.postMessage(message);
    entry.worker.on('message', (message) => fromWorker(entry, message));
    entry.worker.on('error', (error) => {
      entry.endReason = error && error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { name: 'MemoryLimitExceeded', message: `the script ran out of memory (heap limit ${init.runMemoryMb} MB, DIRECTOR_RUN_MEMORY_MB); its worker was ended` }
        : { name: 'WorkerError', message: `the task's worker failed: ${String(error && error.message)}` };
    });
    entry.worker.on('exit', (code) => workerEnded(entry, code));
  }
}

/** The worker is ready (or gone): another may start. */
function startDone(entry) {
  if (entry.worker === null || entry.started) return;
  entry.started = true;
  starting -= 1;
  startNext();
}

function publicInit() {
  const { realm, scriptRequire, ...plain } = init;
  return plain;
}

function evictIdle() {
  let oldest = null;
  for (const list of workers.values()) {
    for (const entry of list) {
      if (entry.runId === null && !entry.ending && (oldest === null || entry.lastUsedMs < oldest.lastUsedMs)) oldest = entry;
    }
  }
  if (oldest !== null) endWorker(oldest, null);
}

const FROM_WORKER = new Set(['entered', 'log', 'done', 'failed', 'late']);

/**
 * A worker runs untrusted code: what it says is checked, and is only believed about its own runs.
 * Anything else ends it (its runs fail), never this executor.
 */
function fromWorker(entry, message) {
  if (message === null || typeof message !== 'object') return endWorker(entry, protocolError('a message that is not an object'));
  if (message.type === 'ready') return startDone(entry);
  if (message.type === 'drained') {
    if (entry.runId === null && entry.draining) {
      entry.draining = false;
      clearTimeout(entry.drainTimer);
      if (message.pending === true) endWorker(entry, null);
    }
    return;
  }
  if (!FROM_WORKER.has(message.type) || typeof message.runId !== 'string') return endWorker(entry, protocolError(`a message of type ${String(message.type)}`));
  if (entry.runId !== message.runId) {
    // Late output of a run already reported is fine; anything else about a run it does not hold is not.
    if (message.type === 'late' || message.type === 'log') return;
    return endWorker(entry, protocolError('a message about a run it does not hold'));
  }
  if (message.type === 'done' || message.type === 'failed') {
    entry.runId = null;
    workerOfRun.delete(message.runId);
    startDrain(entry);
  }
  toDirectorMessage(message);
}

function protocolError(what) {
  return { name: 'ProtocolViolation', message: `the task's worker sent ${what}; it was ended` };
}

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

/** Ends a worker; its runs still going fail with `reason` (null: an idle worker, nothing to report). */
function endWorker(entry, reason) {
  if (entry.ending) return;
  // From here on it takes no run, though it lives until terminate() is done.
  entry.ending = true;
  if (reason !== null) entry.endReason = reason;
  // Not started yet: there is no thread to end, only its place in the start queue (skipped when reached).
  if (entry.worker === null) workerEnded(entry, null);
  else void entry.worker.terminate();
}

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
  send({ type: 'failed', runId, error: { stage: 'executor', ...why } }, Buffer.alloc(0));
}

/**
 * A run past its timeout (Director has recorded it): under strict its worker is ended, which stops any
 * code, even a loop that never yields, and touches no other run; under trusted its signal is aborted.
 */
function cancel(runId, reason) {
  if (init.policy === 'trusted') return abort(runId, reason);
  const entry = workerOfRun.get(runId);
  if (entry === undefined) return;
  entry.cancelled = true;
  endWorker(entry, null);
}

/** Aborts the run's `context.signal` (shutdown): a cooperative script ends by itself. */
function abort(runId, reason) {
  if (init.policy === 'trusted') {
    runs.get(runId)?.abort.abort(new Error(reason));
    return;
  }
  const entry = workerOfRun.get(runId);
  if (entry !== undefined) toWorker(entry, { type: 'abort', runId, reason });
}

function forget(taskKey) {
  if (init.policy === 'trusted') return init.realm.forget(taskKey);
  for (const entry of [...(workers.get(taskKey) ?? [])]) if (entry.runId === null) endWorker(entry, null);
}

function onTrustedUncaught(error, kind) {
  const only = runs.size === 1 ? runs.values().next().value : undefined;
  if (!uncaught(error, kind, only)) {
    process.stderr.write(`director executor: ${kind} that no run can be blamed for: ${String(error && error.stack || error)}\n`);
  }
}

/** Relays one run message to Director as a frame: big text as the body, never JSON-escaped. */
function toDirectorMessage(message) {
  switch (message.type) {
    case 'entered':
      return send({ type: 'entered', runId: message.runId, atMs: Number(message.atMs) });
    case 'log':
    case 'late':
      return send({ type: message.type, runId: message.runId }, Buffer.from(String(message.text)));
    case 'done': {
      const result = message.result === null ? null : Buffer.from(String(message.result));
      const logs = Buffer.from(String(message.logs));
      return send({ type: 'done', runId: message.runId, resultBytes: result === null ? -1 : result.length }, result === null ? logs : Buffer.concat([result, logs]));
    }
    case 'failed':
      return send({ type: 'failed', runId: message.runId, error: message.error }, Buffer.from(String(message.logs)));
  }
}
