// @ts-check
// One run of a script, the same under both policies: a fresh CommonJS module, main(config, context)
// entered with the run's own console, and what happened reported through `post`.
'use strict';

const { AsyncLocalStorage } = require('node:async_hooks');
const { createConsole, createLogBuffer } = require('./sandbox.cjs');

/**
 * @typedef {import('../protocol.js').ExecutorInit} ExecutorInit
 * @typedef {import('../protocol.js').RunUpdate} RunUpdate
 * @typedef {import('../worker-protocol.js').ScriptRun} ScriptRun
 * @typedef {import('../../domain/run.js').RunError} RunError
 * @typedef {import('../../domain/run.js').FailureStage} FailureStage
 * @typedef {import('./sandbox.cjs').Realm} Realm
 * @typedef {import('./sandbox.cjs').ScriptRequire} ScriptRequire
 * @typedef {import('./sandbox.cjs').LogBuffer} LogBuffer
 *
 * @typedef {object} RunEnv Where a run executes: its task's realm, and where its messages go.
 * @property {Realm} realm
 * @property {ScriptRequire} scriptRequire
 * @property {ExecutorInit} init
 * @property {(message: RunUpdate) => void} post
 * @property {string} dirname
 *
 * @typedef {object} StartedRun A run going on, and once reported, the source of its late output.
 * @property {string} runId
 * @property {string} filename
 * @property {LogBuffer} log
 * @property {AbortController} abort
 * @property {boolean} reported Set once: the run's end has been posted; what comes later is `late`.
 * @property {number} lateBytes
 * @property {string} unsent
 * @property {NodeJS.Timeout | null} flushTimer
 * @property {(message: RunUpdate) => void} post
 * @property {ExecutorInit} init
 *
 * How a run ended, less its logs (the run's own, added when it is posted).
 * @typedef {{ outcome: 'succeeded', result: string | null } | { outcome: 'failed', error: RunError }} Ending
 */

const MAX_MESSAGE_CHARS = 4000;
const MAX_STACK_CHARS = 8000;
const LOG_FLUSH_MS = 250;

/** The run whose code is executing now: lets a late exception or rejection name its run. @type {AsyncLocalStorage<StartedRun>} */
const currentRun = new AsyncLocalStorage();

/**
 * @param {RunEnv} env
 * @param {ScriptRun} message
 * @returns {StartedRun}
 */
function startRun(env, message) {
  const { init, post } = env;
  /** @type {StartedRun} */
  const run = {
    runId: message.runId,
    filename: message.filename,
    log: createLogBuffer(init.logMaxBytes),
    abort: new AbortController(),
    reported: false,
    lateBytes: 0,
    unsent: '',
    flushTimer: null,
    post,
    init,
  };
  /** @param {string} text */
  const sink = (text) => (run.reported ? late(run, text) : stream(run, run.log.write(text)));
  currentRun.run(run, () => void execute(env, message, run, sink));
  return run;
}

/**
 * @param {RunEnv} env
 * @param {ScriptRun} message
 * @param {StartedRun} run
 * @param {(text: string) => void} sink
 */
async function execute(env, message, run, sink) {
  let compiled;
  try {
    compiled = env.realm.compile(message.source, message.filename);
  } catch (error) {
    return report(run, { outcome: 'failed', error: compileError(error, message.filename) });
  }
  /** @type {{ exports: unknown, id: string, filename: string, loaded: boolean, children: never[], paths: never[], require: ScriptRequire }} */
  const module = { exports: {}, id: message.filename, filename: message.filename, loaded: false, children: [], paths: [], require: env.scriptRequire };
  const scriptConsole = lazyConsole(sink);
  let main;
  try {
    // Sloppy-mode CommonJS as Node runs it: top-level `this` is module.exports.
    compiled.call(module.exports, module.exports, env.scriptRequire, module, message.filename, env.dirname, scriptConsole);
    module.loaded = true;
    // Whatever the script made its exports (a primitive has no `main`, a getter may throw).
    const exported = /** @type {{ main?: unknown } | null | undefined} */ (module.exports);
    main = exported === null || exported === undefined ? undefined : exported.main;
  } catch (error) {
    return report(run, { outcome: 'failed', error: describeError('run', error) });
  }
  if (typeof main !== 'function') {
    return report(run, { outcome: 'failed', error: { stage: 'compile', name: 'NoMainFunction', message: 'the script does not export a main function (module.exports = { main } or exports.main = …)' } });
  }
  let value;
  run.post({ type: 'entered', runId: run.runId, atMs: Date.now() });
  try {
    value = await main.call(module.exports, message.config, { ...message.context, signal: run.abort.signal });
  } catch (error) {
    return report(run, { outcome: 'failed', error: describeError('run', error) });
  }
  if (run.reported) return; // it already failed asynchronously while main was pending
  report(run, serialize(run.init, value));
}

/**
 * @param {ExecutorInit} init
 * @param {unknown} value what main resolved to
 * @returns {Ending}
 */
function serialize(init, value) {
  if (value === undefined) return { outcome: 'succeeded', result: null };
  let result;
  try {
    result = JSON.stringify(value);
  } catch (error) {
    return { outcome: 'failed', error: describeError('serialize', error) };
  }
  if (result === undefined) return { outcome: 'failed', error: { stage: 'serialize', name: 'TypeError', message: `main returned a ${typeof value}, which JSON cannot encode` } };
  const bytes = Buffer.byteLength(result);
  if (bytes > init.resultMaxBytes) {
    return { outcome: 'failed', error: { stage: 'serialize', name: 'RangeError', message: `the result is ${bytes} bytes, more than DIRECTOR_RESULT_MAX_BYTES (${init.resultMaxBytes})` } };
  }
  return { outcome: 'succeeded', result };
}

/**
 * A console is built on first use: most scripts never log, and a Console costs more than the rest of a run.
 * @param {(text: string) => void} sink
 * @returns {Console}
 */
function lazyConsole(sink) {
  /** @type {Record<string | symbol, unknown> | null} */
  let built = null;
  const get = () => (built === null ? (built = /** @type {Record<string | symbol, unknown>} */ (/** @type {unknown} */ (createConsole(sink)))) : built);
  return /** @type {Console} */ (new Proxy({}, {
    get: (_target, key) => {
      const value = get()[key];
      return typeof value === 'function' ? value.bind(get()) : value;
    },
    set: (_target, key, value) => {
      get()[key] = value;
      return true;
    },
  }));
}

/**
 * @param {StartedRun} run
 * @param {Ending} ending
 */
function report(run, ending) {
  if (run.reported) return;
  run.reported = true;
  if (run.flushTimer !== null) clearTimeout(run.flushTimer);
  run.flushTimer = null;
  run.post({ type: 'end', runId: run.runId, end: { ...ending, logs: run.log.text() } });
}

/**
 * Console output also goes out every LOG_FLUSH_MS while the run goes on, so a killed run keeps what it wrote.
 * @param {StartedRun} run
 * @param {string} kept
 */
function stream(run, kept) {
  if (kept === '') return;
  run.unsent += kept;
  if (run.flushTimer !== null) return;
  run.flushTimer = setTimeout(() => {
    run.flushTimer = null;
    if (run.reported || run.unsent === '') return;
    run.post({ type: 'log', runId: run.runId, text: run.unsent });
    run.unsent = '';
  }, LOG_FLUSH_MS);
  run.flushTimer.unref?.();
}

/**
 * Output after the run was reported still belongs to it; it goes to Director's log (bounded).
 * @param {StartedRun} run
 * @param {string} text
 */
function late(run, text) {
  if (run.lateBytes >= run.init.logMaxBytes) return;
  const kept = text.slice(0, run.init.logMaxBytes - run.lateBytes);
  run.lateBytes += kept.length;
  run.post({ type: 'late', runId: run.runId, text: kept });
}

/**
 * An exception or rejection nobody caught: it ends the run it came from, or is late output of a finished one.
 * @param {unknown} error
 * @param {string} kind
 * @param {StartedRun | null | undefined} fallbackRun
 * @returns {boolean} whether a run took it
 */
function uncaught(error, kind, fallbackRun) {
  const run = currentRun.getStore() ?? fallbackRun;
  if (run === undefined || run === null) return false;
  if (!run.reported) report(run, { outcome: 'failed', error: describeError('run', error, `${kind}: `) });
  else late(run, `[director] ${kind} after main returned: ${describeError('run', error).message}\n`);
  return true;
}

/**
 * A syntax error's stack quotes the offending source line: fetched text that must not end up in a run
 * record or an HTTP answer. The error names the script and the line instead.
 * @param {unknown} error
 * @param {string} filename
 * @returns {RunError}
 */
function compileError(error, filename) {
  const described = describeError('compile', error);
  const thrown = /** @type {{ stack?: unknown } | null | undefined} */ (error);
  const stack = typeof thrown?.stack === 'string' ? thrown.stack : '';
  const at = new RegExp(`${escapeRegExp(filename)}:(\\d+)`).exec(stack);
  const where = at === null ? filename : `${filename}:${at[1]}`;
  return { stage: 'compile', name: described.name, message: `${described.message} (${where})`.slice(0, MAX_MESSAGE_CHARS) };
}

/** @param {string} text */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Errors come from another realm, may be any value, and may have throwing getters: describe defensively.
 * @param {FailureStage} stage
 * @param {unknown} error
 * @returns {RunError}
 */
function describeError(stage, error, prefix = '') {
  let name = 'Error';
  /** @type {string} */
  let message;
  /** @type {string | undefined} */
  let stack;
  try {
    if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
      const thrown = /** @type {{ name?: unknown, message?: unknown, stack?: unknown }} */ (error);
      if (typeof thrown.name === 'string') name = thrown.name;
      message = typeof thrown.message === 'string' ? thrown.message : String(error);
      if (typeof thrown.stack === 'string') stack = scriptFrames(thrown.stack).slice(0, MAX_STACK_CHARS);
    } else {
      message = `${typeof error === 'string' ? '' : `${typeof error} `}${String(error)}`.trim();
    }
  } catch {
    message = 'the script threw a value that cannot be described';
  }
  message = `${prefix}${message}`.slice(0, MAX_MESSAGE_CHARS);
  return stack === undefined ? { stage, name: String(name).slice(0, 200), message } : { stage, name: String(name).slice(0, 200), message, stack };
}

/**
 * Frames below the first one in this folder are the executor's own plumbing: noise to a script's author.
 * @param {string} stack
 */
function scriptFrames(stack) {
  const lines = stack.split('\n');
  const cut = lines.findIndex((line) => line.includes(__dirname));
  return (cut < 0 ? lines : lines.slice(0, cut)).join('\n');
}

module.exports = { startRun, uncaught };
