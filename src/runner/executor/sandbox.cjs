// @ts-check
// What a script sees: a fresh vm context per run, a captured console, a policy-bound require and process.
'use strict';

const vm = require('node:vm');
const { Console } = require('node:console');
const { Writable } = require('node:stream');
const { builtinModules } = require('node:module');

/**
 * @typedef {import('../protocol.js').ExecutorInit} ExecutorInit
 * @typedef {ReturnType<typeof createRealm>} Realm
 * @typedef {ReturnType<typeof createRequire>} ScriptRequire
 * @typedef {ReturnType<typeof createLogBuffer>} LogBuffer
 */

const BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith('_')));

/** Executor-realm globals copied into every context; the context's own intrinsics (Object, Promise…) stay fresh. */
const SHARED_GLOBALS = [
  'Buffer', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController', 'AbortSignal',
  'Event', 'EventTarget', 'MessageChannel', 'MessagePort', 'BroadcastChannel', 'Blob', 'atob', 'btoa',
  'structuredClone', 'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
  'setImmediate', 'clearImmediate', 'fetch', 'Headers', 'Request', 'Response', 'FormData', 'performance',
  'crypto', 'DOMException',
];

/** The parameters of a compiled script: CommonJS's five, plus the run's own console. */
const PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname', 'console'];

/**
 * Where scripts are compiled: one vm context, kept for the realm's life. Under strict a realm belongs to
 * one task's worker thread (its own isolate: the isolation boundary between tasks) and holds the process
 * facade; under trusted the executor has one realm that every run in it shares, with the real process,
 * as every script shared the original Director's one process.
 *
 * Each run gets a fresh module, so top-level code runs every time (COMPAT 25), but a global one run leaves
 * is seen by the next runs in the same realm: its task's under strict, any task's in that executor under
 * trusted. Why not a context per run (or per task under trusted): making one costs ~0.5 ms of CPU, more
 * than the rest of a trivial run, and keeping thousands costs heap and GC time (measured: 10,000 trusted
 * tasks at 1,000 runs/s had p99 267–957 ms with per-task contexts, 8 ms with one per executor).
 * @param {ExecutorInit} init
 */
function createRealm(init) {
  const globals = /** @type {Record<string, unknown>} */ (globalThis);
  /** @type {Record<string, unknown>} */
  const sandbox = {};
  for (const name of SHARED_GLOBALS) {
    if (globals[name] !== undefined) sandbox[name] = globals[name];
  }
  const context = vm.createContext(sandbox, { name: 'script' });
  // Scripts written for Node use `global`; it must be the context's own global, not the worker's.
  sandbox.global = vm.runInContext('globalThis', context);
  sandbox.process = init.policy === 'trusted' ? process : createStrictProcess();
  return {
    /**
     * @param {string} source
     * @param {string} filename
     */
    compile(source, filename) {
      return vm.compileFunction(source, PARAMETERS, { filename, parsingContext: context });
    },
  };
}

/**
 * Console output of one run, cut at `maxBytes` (the cut is marked so nobody mistakes it for the end).
 * @param {number} maxBytes
 */
function createLogBuffer(maxBytes) {
  /** @type {string[]} */
  const parts = [];
  let size = 0;
  let dropped = 0;
  return {
    /**
     * Keeps what fits; returns the part kept (so it can be streamed too).
     * @param {string} text
     * @returns {string}
     */
    write(text) {
      const bytes = Buffer.byteLength(text);
      if (size + bytes <= maxBytes) {
        parts.push(text);
        size += bytes;
        return text;
      }
      const room = maxBytes - size;
      let kept = '';
      if (room > 0) {
        kept = Buffer.from(text).subarray(0, room).toString();
        parts.push(kept);
        size = maxBytes;
      }
      dropped += bytes - Math.max(room, 0);
      return kept;
    },
    text() {
      const body = parts.join('');
      return dropped > 0 ? `${body}\n[director: ${dropped} more bytes of logs were cut (DIRECTOR_LOG_MAX_BYTES)]\n` : body;
    },
  };
}

/**
 * A console whose output goes to `sink(text)`; one per run so that a patched console dies with its run.
 * @param {(text: string) => void} sink
 */
function createConsole(sink) {
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      sink(chunk.toString());
      callback();
    },
  });
  return new Console({ stdout: stream, stderr: stream, colorMode: false });
}

/**
 * @param {string} id
 * @param {ExecutorInit['policy']} policy
 */
function accessDenied(id, policy) {
  const error = /** @type {NodeJS.ErrnoException} */ (new Error(
    policy === 'strict'
      ? `require("${id}") is not allowed under the strict script policy (allowed: axios, the network built-ins and DIRECTOR_SCRIPT_MODULES)`
      : `cannot find module "${id}" (install it into DIRECTOR_SCRIPT_MODULES_DIR)`,
  ));
  error.code = policy === 'strict' ? 'ERR_DIRECTOR_MODULE_NOT_ALLOWED' : 'MODULE_NOT_FOUND';
  return error;
}

/**
 * The `require` a script gets. Under strict it is an allow-list, but it is not the security boundary:
 * `require.constructor` is the executor's Function, so the permission model, the uid and the clean
 * environment are what actually hold when a script reaches the real `process`.
 * @param {ExecutorInit} init
 */
function createRequire(init) {
  const allowed = new Set(init.builtins);
  /**
   * @param {unknown} id
   * @returns {unknown} whatever the module exports
   */
  function scriptRequire(id) {
    if (typeof id !== 'string' || id === '') throw new TypeError('require() expects a module name');
    const bare = id.startsWith('node:') ? id.slice(5) : id;
    if (BUILTINS.has(bare)) {
      // Subpaths follow their module: stream/promises and assert/strict yes, fs/promises no.
      if (init.policy === 'trusted' || allowed.has(bare.split('/')[0] ?? '')) return require(`node:${bare}`);
      throw accessDenied(id, init.policy);
    }
    const entry = init.packages[id];
    if (entry !== undefined) return require(entry);
    if (init.policy === 'trusted') {
      let resolved;
      try {
        resolved = require.resolve(id, { paths: [...init.searchPaths] });
      } catch {
        throw accessDenied(id, init.policy);
      }
      return require(resolved);
    }
    throw accessDenied(id, init.policy);
  }
  /** @param {unknown} id */
  scriptRequire.resolve = (id) => {
    throw new Error(`require.resolve("${id}") is not available to Director scripts`);
  };
  scriptRequire.cache = Object.create(null);
  return scriptRequire;
}

/** The `process` a strict script sees: harmless facts and the filtered environment, no exit/kill/binding. */
function createStrictProcess() {
  return {
    env: { ...process.env },
    argv: [process.execPath, 'script.js'],
    execArgv: [],
    version: process.version,
    versions: { ...process.versions },
    platform: process.platform,
    arch: process.arch,
    pid: process.pid,
    title: 'director-script',
    exitCode: undefined,
    release: { ...process.release },
    nextTick: process.nextTick,
    hrtime: process.hrtime,
    uptime: process.uptime,
    memoryUsage: process.memoryUsage,
    cwd: () => '/',
    emitWarning: () => {},
    on() { return this; },
    once() { return this; },
    off() { return this; },
    exit() {
      throw new Error('process.exit() is not available to scripts under the strict policy; return from main or throw instead');
    },
  };
}

module.exports = { createRealm, createConsole, createLogBuffer, createRequire };
