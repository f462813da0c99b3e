// Executor entry, forked by executor-pool.ts: runs one script at a time, speaking ../protocol.ts.
// Plain CommonJS on purpose: it is forked with plain `node` (no tsx) from src/ and from dist/ alike.
'use strict';

const vm = require('node:vm');
const http = require('node:http');
const https = require('node:https');
const { createContext, createLogBuffer, prepareRun } = require('./sandbox.cjs');

const PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'];
const MAX_MESSAGE_CHARS = 4000;
const MAX_STACK_CHARS = 8000;
const LOG_FLUSH_MS = 250;

const originalSend = process.send;
const send = (message) => originalSend.call(process, message);

let init = null;
/** The run being executed or drained; at most one at a time. */
let current = null;
/** A context created while idle, so a run does not wait for vm.createContext. */
let nextContext = null;
let guardedKill = null;

process.on('message', (message) => {
  if (message.type === 'init') start(message);
  else if (message.type === 'run') void run(message);
  else if (message.type === 'abort' && current !== null && current.runId === message.runId) current.abort.abort(new Error(message.reason));
});
// Director went away (or closed the channel): nothing will ever ask this executor for anything again.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (error) => scriptError(error, 'uncaught exception'));
process.on('unhandledRejection', (reason) => scriptError(reason, 'unhandled rejection'));

function start(message) {
  init = message;
  guardKill(init.policy === 'strict');
  // Warm: a first run should not pay for loading axios (tens of ms).
  if (init.packages.axios !== undefined) require(init.packages.axios);
  nextContext = createContext();
  send({ type: 'ready' });
}

/**
 * The permission model of Node 20 does not cover signals, and executors share Director's process group.
 * process.kill goes through process._kill, so guarding it also covers the real `process` a script
 * reaches through `require.constructor`. (When Director runs as root, the unprivileged uid is the
 * kernel-level guard on top of this.)
 */
function guardKill(strict) {
  const rawKill = process._kill;
  if (typeof rawKill !== 'function') return;
  guardedKill = function kill(pid, signal) {
    const allowed = strict ? pid === process.pid : pid > 0 && pid !== process.ppid;
    return allowed ? rawKill.call(process, pid, signal) : -1; // -1 is UV_EPERM: process.kill throws EPERM
  };
  process._kill = guardedKill;
}

async function run(message) {
  // outcome: what the run ended with (set once); sent: whether it has gone to Director.
  const state = { runId: message.runId, log: createLogBuffer(init.logMaxBytes), abort: new AbortController(), outcome: null, sent: false, lateBytes: 0, unsent: '', flushTimer: null, baseline: resourceCounts() };
  current = state;
  const context = nextContext !== null ? nextContext : createContext();
  nextContext = null;
  const filename = message.filename;
  const scriptRequire = prepareRun(context, init, filename, (text) => (state.sent ? late(state, text) : stream(state, state.log.write(text))));
  let compiled;
  try {
    compiled = vm.compileFunction(message.source, PARAMETERS, { filename, parsingContext: context });
  } catch (error) {
    return fail(state, 'compile', error);
  }
  const module = { exports: {}, id: filename, filename, loaded: false, children: [], paths: [], require: scriptRequire };
  let main;
  try {
    // Sloppy-mode CommonJS as Node runs it: top-level `this` is module.exports.
    compiled.call(module.exports, module.exports, scriptRequire, module, filename, init.policy === 'trusted' ? process.cwd() : '/');
    module.loaded = true;
    main = module.exports === null || module.exports === undefined ? undefined : module.exports.main;
  } catch (error) {
    return fail(state, 'run', error);
  }
  if (typeof main !== 'function') {
    return fail(state, 'compile', { name: 'NoMainFunction', message: 'the script does not export a main function (module.exports = { main } or exports.main = …)' });
  }
  let value;
  try {
    value = await main.call(module.exports, message.config, { ...message.context, signal: state.abort.signal });
  } catch (error) {
    return fail(state, 'run', error);
  }
  if (state.outcome !== null) return; // it already failed asynchronously while main was pending
  let result = null;
  if (value !== undefined) {
    try {
      result = JSON.stringify(value);
    } catch (error) {
      return fail(state, 'serialize', error);
    }
    if (result === undefined) return fail(state, 'serialize', { name: 'TypeError', message: `main returned a ${typeof value}, which JSON cannot encode` });
    const bytes = Buffer.byteLength(result);
    if (bytes > init.resultMaxBytes) {
      return fail(state, 'serialize', { name: 'RangeError', message: `the result is ${bytes} bytes, more than DIRECTOR_RESULT_MAX_BYTES (${init.resultMaxBytes})` });
    }
  }
  report(state, { type: 'done', result });
}

function fail(state, stage, error) {
  if (current !== state) return;
  report(state, { type: 'failed', error: describeError(stage, error) });
}

/** Errors come from another realm, may be any value, and may have throwing getters: describe defensively. */
function describeError(stage, error, prefix = '') {
  let name = 'Error';
  let message;
  let stack;
  try {
    if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
      if (typeof error.name === 'string') name = error.name;
      message = typeof error.message === 'string' ? error.message : String(error);
      if (typeof error.stack === 'string') stack = scriptFrames(error.stack).slice(0, MAX_STACK_CHARS);
    } else {
      message = `${typeof error === 'string' ? '' : `${typeof error} `}${String(error)}`.trim();
    }
  } catch {
    message = 'the script threw a value that cannot be described';
  }
  message = `${prefix}${message}`.slice(0, MAX_MESSAGE_CHARS);
  return stack === undefined ? { stage, name, message } : { stage, name, message, stack };
}

/** Frames below the first one in this folder are the executor's own plumbing: noise to a script's author. */
function scriptFrames(stack) {
  const lines = stack.split('\n');
  const cut = lines.findIndex((line) => line.includes(__dirname));
  return (cut < 0 ? lines : lines.slice(0, cut)).join('\n');
}

function scriptError(error, kind) {
  const state = current;
  if (state === null) {
    process.stderr.write(`director executor: ${kind} with no run going: ${describeError('run', error).message}\n`);
  } else if (state.outcome === null) {
    report(state, { type: 'failed', error: describeError('run', error, `${kind}: `) });
  } else {
    const text = `[director] ${kind} after main returned: ${describeError('run', error).message}\n`;
    if (state.sent) late(state, text);
    else state.log.write(text);
  }
}

/**
 * Console output also goes to Director every LOG_FLUSH_MS while the run goes on, so a run that is
 * killed (timeout, memory) keeps the logs it had written by then.
 */
function stream(state, kept) {
  if (kept === '') return;
  state.unsent += kept;
  if (state.flushTimer !== null) return;
  state.flushTimer = setTimeout(() => {
    state.flushTimer = null;
    if (state.sent || state.unsent === '') return;
    send({ type: 'log', runId: state.runId, text: state.unsent });
    state.unsent = '';
  }, LOG_FLUSH_MS);
}

/** Output after the run was reported still belongs to it; it goes to Director's log (bounded). */
function late(state, text) {
  if (current !== state || state.lateBytes >= init.logMaxBytes) return;
  state.lateBytes += Buffer.byteLength(text);
  send({ type: 'late', runId: state.runId, text });
}

/**
 * The outcome is sent one turn later, together with whether the script left work pending: most scripts
 * leave none, and then one message both reports the run and frees the executor.
 */
function report(state, outcome) {
  if (state.outcome !== null) return;
  state.outcome = outcome;
  // The outcome carries all logs; the pending flush would only hold up the drain.
  if (state.flushTimer !== null) clearTimeout(state.flushTimer);
  state.flushTimer = null;
  setImmediate(() => {
    if (current !== state) return;
    closeIdleSockets();
    const idle = pendingWork(state.baseline).length === 0 && tampering() === null;
    state.sent = true;
    send({ ...outcome, runId: state.runId, logs: state.log.text(), idle });
    if (idle) becomeIdle();
    else drain(state);
  });
}

/**
 * Work a script left pending (an un-awaited axios.post, a timer) may finish before the next run;
 * past drainMs the executor asks to be recycled instead, so leftovers never leak into another run.
 */
function drain(state) {
  const deadline = Date.now() + init.drainMs;
  let wait = 1;
  const check = () => {
    if (current !== state) return;
    closeIdleSockets();
    const pending = pendingWork(state.baseline);
    if (pending.length === 0) return finish(state, null);
    if (Date.now() >= deadline) return finish(state, `work still pending ${init.drainMs} ms after the run: ${pending.join(', ')}`);
    // Check from an immediate: inside its own callback a timer still counts as an active resource.
    setTimeout(() => setImmediate(check), wait);
    wait = Math.min(wait * 2, 50);
  };
  setTimeout(() => setImmediate(check), 0);
}

function finish(state, reason) {
  current = null;
  const why = reason !== null ? reason : tampering();
  if (why !== null) {
    send({ type: 'recycle', runId: state.runId, reason: why });
    return;
  }
  send({ type: 'idle', runId: state.runId });
  becomeIdle();
}

function becomeIdle() {
  current = null;
  setImmediate(() => {
    if (nextContext === null && current === null) nextContext = createContext();
  });
}

/** A script that reached the real process can leave listeners that would see the next run's messages. */
function tampering() {
  if (process.send !== originalSend) return 'the script replaced process.send';
  for (const event of ['message', 'uncaughtException', 'unhandledRejection', 'disconnect']) {
    if (process.listenerCount(event) !== 1) return `the script changed the executor's "${event}" listeners`;
  }
  if (guardedKill !== null && process._kill !== guardedKill) return 'the script replaced process._kill';
  return null;
}

/** Keep-alive sockets idle in the global agents are not pending work; closing them lets the drain end. */
function closeIdleSockets() {
  for (const agent of [http.globalAgent, https.globalAgent]) {
    for (const sockets of Object.values(agent.freeSockets)) {
      for (const socket of sockets) socket.destroy();
    }
  }
}

function resourceCounts() {
  const counts = new Map();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) || 0) + 1);
  return counts;
}

function pendingWork(baseline) {
  const pending = [];
  for (const [type, count] of resourceCounts()) {
    const extra = count - (baseline.get(type) || 0);
    if (extra > 0) pending.push(`${extra} ${type}`);
  }
  return pending;
}
