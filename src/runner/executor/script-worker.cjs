// @ts-check
// A worker thread that runs the scripts of one task under strict: its own V8 isolate, so its modules,
// prototypes, globals and timers are that task's alone. Started by executor.cjs, spoken to through
// parentPort with the messages of ../worker-protocol.ts.
'use strict';

const { builtinModules } = require('node:module');
const { parentPort, workerData } = require('node:worker_threads');
const { createRealm, createRequire } = require('./sandbox.cjs');
const { startRun, uncaught } = require('./run-script.cjs');

/**
 * @typedef {import('../protocol.js').ExecutorInit} ExecutorInit
 * @typedef {import('../protocol.js').RunUpdate} RunUpdate
 * @typedef {import('../worker-protocol.js').ToWorker} ToWorker
 * @typedef {import('../worker-protocol.js').FromWorker} FromWorker
 * @typedef {import('./run-script.cjs').StartedRun} StartedRun
 */

if (parentPort === null) throw new Error('script-worker.cjs runs as a worker thread of an executor only');
const port = parentPort;
/** @param {FromWorker} message */
const toExecutor = (message) => port.postMessage(message);
/** The executor's init (executor.cjs passes it as workerData). @type {ExecutorInit} */
const init = workerData;
/**
 * No signal from a strict script: not to Director, not to its own executor (which runs other tasks).
 * process.kill goes through process._kill, also for the real `process` a script reaches through
 * `require.constructor`; the model of Node 20–26 does not cover signals, the uid does when Director is root.
 * `_kill` is Node's internal binding (lib/internal/process/per_thread.js), not in @types/node.
 */
/** @type {NodeJS.Process & { _kill?: (pid: number, signal: number) => number }} */ (process)._kill = () => -1; // UV_EPERM: process.kill throws EPERM
for (const name of /** @type {const} */ (['pid', 'ppid'])) {
  const value = process[name];
  Object.defineProperty(process, name, { value, writable: false, configurable: false, enumerable: true });
}

// One task's realm: its runs (and the warm-up run) share the one context it keeps; a worker never holds
// another task.
const realm = createRealm(init);
const scriptRequire = createRequire(init);

/**
 * Two doors from the real `process` (which a script reaches through `require.constructor`) to every
 * built-in module, os and worker_threads included: process.getBuiltinModule (Node ≥ 20.16) and the
 * worker's own main module. The first keeps only the allow-list, the second is closed.
 */
const getBuiltinModule = (/** @type {unknown} */ id) => {
  const bare = typeof id === 'string' && id.startsWith('node:') ? id.slice(5) : id;
  return typeof bare === 'string' && builtinModules.includes(bare) ? scriptRequire(id) : undefined;
};
Object.defineProperty(process, 'getBuiltinModule', { value: getBuiltinModule, writable: false, configurable: false });
Object.defineProperty(process, 'mainModule', { value: undefined, writable: false, configurable: false });
/** Runs of this task going on in this worker, by id. @type {Map<string, StartedRun>} */
const runs = new Map();
/** @param {RunUpdate} message */
const post = (message) => {
  if (message.type === 'end') runs.delete(message.runId);
  toExecutor(message);
};

port.on('message', (/** @type {ToWorker} */ message) => {
  if (message.type === 'run') {
    runs.set(message.runId, startRun({ realm, scriptRequire, init, post, dirname: '/' }, message));
  } else if (message.type === 'abort') {
    runs.get(message.runId)?.abort.abort(new Error(message.reason));
  } else if (message.type === 'drain') {
    drain(message.deadlineMs);
  }
});

process.on('uncaughtException', (error) => onUncaught(error, 'uncaught exception'));
process.on('unhandledRejection', (reason) => onUncaught(reason, 'unhandled rejection'));

/**
 * @param {unknown} error
 * @param {string} kind
 */
function onUncaught(error, kind) {
  // Without a run to blame (all reported), the oldest still going takes it: they are one task's runs.
  const oldest = runs.values().next().value;
  uncaught(error, kind, oldest);
}

/**
 * Work a script left pending after its last run (an un-awaited request, a timer) may finish; past the
 * deadline the executor ends this worker instead, so it never lingers. Answers once.
 * @param {number} deadlineMs
 */
function drain(deadlineMs) {
  const pending = () => countResources() - baseline;
  const check = () => {
    if (runs.size > 0) return; // a new run came: the drain is over
    if (pending() === 0) return toExecutor({ type: 'drained', pending: false });
    if (Date.now() >= deadlineMs) return toExecutor({ type: 'drained', pending: true });
    setTimeout(() => setImmediate(check), 20).unref();
  };
  setImmediate(check);
}

const countResources = () => process.getActiveResourcesInfo().length;
/** What the worker holds itself while idle (its port); taken before any script ran. */
const baseline = countResources();

/**
 * A warm-up run before `ready`: V8 compiles this isolate's run path lazily and a first context is slow to
 * make, tens of ms together. Paid here, while the worker is prepared ahead of its slot, not by the first
 * real run (measured: 200 prepared workers' first runs entered 0.8–6.8 s after their slot without it).
 */
const warmUp = { runId: 'warm-up', source: 'module.exports.main = () => 1;', filename: 'warm-up.js', config: {}, context: { taskId: null, slot: null, trigger: /** @type {const} */ ('test'), attempt: 1 } };
startRun({ realm, scriptRequire, init, post: () => {}, dirname: '/' }, warmUp);
setImmediate(() => toExecutor({ type: 'ready' }));
