// One run of a script, the same under both policies: a fresh CommonJS module, main(config, context)
// entered with the run's own console, and what happened reported through `post`.
'use strict';

const { AsyncLocalStorage } = require('node:async_hooks');
const { createConsole, createLogBuffer } = require('./sandbox.cjs');

const MAX_MESSAGE_CHARS = 4000;
const MAX_STACK_CHARS = 8000;
const LOG_FLUSH_MS = 250;

/** The run whose code is executing now: lets a late exception or rejection name its run. */
const currentRun = new AsyncLocalStorage();

/**
 * @param {{ realm: { compile(source: string, filename: string, taskKey: string): Function }, scriptRequire: Function, init: any, post(message: object): void, dirname: string }} env
 * @param {{ runId: string, taskKey: string, source: string, filename: string, config: unknown, context: object }} message
 */
function startRun(env, message) {
  const { init, post } = env;
  const run = {
    runId: message.runId,
    filename: message.filename,
    log: createLogBuffer(init.logMaxBytes),
    abort: new AbortController(),
    /** Set once: the run's report has been posted; what comes later is `late`. */
    reported: false,
    lateBytes: 0,
    unsent: '',
    flushTimer: null,
    post,
    init,
  };
  const sink = (text) => (run.reported ? late(run, text) : stream(run, run.log.write(text)));
  currentRun.run(run, () => void execute(env, message, run, sink));
  return run;
}

async function execute(env, message, run, sink) {
  let compiled;
  try {
    compiled = env.realm.compile(message.source, message.filename, message.taskKey);
  } catch (error) {
    return report(run, { type: 'failed', error: compileError(error, message.filename) });
  }
  const module = { exports: {}, id: message.filename, filename: message.filename, loaded: false, children: [], paths: [], require: env.scriptRequire };
  const scriptConsole = lazyConsole(sink);
  let main;
  try {
    // Sloppy-mode CommonJS as Node runs it: top-level `this` is module.exports.
    compiled.call(module.exports, module.exports, env.scriptRequire, module, message.filename, env.dirname, scriptConsole);
    module.loaded = true;
    main = module.exports === null || module.exports === undefined ? undefined : module.exports.main;
  } catch (error) {
    return report(run, { type: 'failed', error: describeError('run', error) });
  }
  if (typeof main !== 'function') {
    return report(run, { type: 'failed', error: { stage: 'compile', name: 'NoMainFunction', message: 'the script does not export a main function (module.exports = { main } or exports.main = …)' } });
  }
  let value;
  run.post({ type: 'entered', runId: run.runId, atMs: Date.now() });
  try {
    value = await main.call(module.exports, message.config, { ...message.context, signal: run.abort.signal });
  } catch (error) {
    return report(run, { type: 'failed', error: describeError('run', error) });
  }
  if (run.reported) return; // it already failed asynchronously while main was pending
  report(run, serialize(run.init, value));
}

function serialize(init, value) {
  if (value === undefined) return { type: 'done', result: null };
  let result;
  try {
    result = JSON.stringify(value);
  } catch (error) {
    return { type: 'failed', error: describeError('serialize', error) };
  }
  if (result === undefined) return { type: 'failed', error: { stage: 'serialize', name: 'TypeError', message: `main returned a ${typeof value}, which JSON cannot encode` } };
  const bytes = Buffer.byteLength(result);
  if (bytes > init.resultMaxBytes) {
    return { type: 'failed', error: { stage: 'serialize', name: 'RangeError', message: `the result is ${bytes} bytes, more than DIRECTOR_RESULT_MAX_BYTES (${init.resultMaxBytes})` } };
  }
  return { type: 'done', result };
}

/** A console is built on first use: most scripts never log, and a Console costs more than the rest of a run. */
function lazyConsole(sink) {
  let built = null;
  const get = () => (built === null ? (built = createConsole(sink)) : built);
  return new Proxy({}, {
    get: (_target, key) => {
      const value = get()[key];
      return typeof value === 'function' ? value.bind(get()) : value;
    },
    set: (_target, key, value) => {
      get()[key] = value;
      return true;
    },
  });
}

function report(run, outcome) {
  if (run.reported) return;
  run.reported = true;
  if (run.flushTimer !== null) clearTimeout(run.flushTimer);
  run.flushTimer = null;
  run.post({ ...outcome, runId: run.runId, logs: run.log.text() });
}

/** Console output also goes out every LOG_FLUSH_MS while the run goes on, so a killed run keeps what it wrote. */
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

/** Output after the run was reported still belongs to it; it goes to Director's log (bounded). */
function late(run, text) {
  if (run.lateBytes >= run.init.logMaxBytes) return;
  const kept = text.slice(0, run.init.logMaxBytes - run.lateBytes);
  run.lateBytes += kept.length;
  run.post({ type: 'late', runId: run.runId, text: kept });
}

/** An exception or rejection nobody caught: it ends the run it came from, or is late output of a finished one. */
function uncaught(error, kind, fallbackRun) {
  const run = currentRun.getStore() ?? fallbackRun;
  if (run === undefined || run === null) return false;
  if (!run.reported) report(run, { type: 'failed', error: describeError('run', error, `${kind}: `) });
  else late(run, `[director] ${kind} after main returned: ${describeError('run', error).message}\n`);
  return true;
}

/**
 * A syntax error's stack quotes the offending source line: fetched text that must not end up in a run
 * record or an HTTP answer. The error names the script and the line instead.
 */
function compileError(error, filename) {
  const described = describeError('compile', error);
  const stack = typeof error?.stack === 'string' ? error.stack : '';
  const at = new RegExp(`${escapeRegExp(filename)}:(\\d+)`).exec(stack);
  const where = at === null ? filename : `${filename}:${at[1]}`;
  return { stage: 'compile', name: described.name, message: `${described.message} (${where})`.slice(0, MAX_MESSAGE_CHARS) };
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  return stack === undefined ? { stage, name: String(name).slice(0, 200), message } : { stage, name: String(name).slice(0, 200), message, stack };
}

/** Frames below the first one in this folder are the executor's own plumbing: noise to a script's author. */
function scriptFrames(stack) {
  const lines = stack.split('\n');
  const cut = lines.findIndex((line) => line.includes(__dirname));
  return (cut < 0 ? lines : lines.slice(0, cut)).join('\n');
}

module.exports = { startRun, uncaught };
