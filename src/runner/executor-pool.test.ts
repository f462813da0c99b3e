// The executor pool with real child processes: how scripts run, and hostile scripts that must end as
// recorded failures while this (Director's) process stays responsive.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { EXECUTOR_NICENESS } from './executor-launch.js';
import { failure, startTestPool, watchEventLoop, type LoopWatch, type TestPool } from './testing/test-pool.js';

describe('executor pool: script runtime', () => {
  let t: TestPool;
  before(async () => {
    t = await startTestPool({ size: 1 });
  });
  after(() => t.close());

  test('runs main(config, context) of module.exports = {main} and records its JSON result and console', async () => {
    const execution = await t.run(
      'module.exports = { main: (config, context) => { console.log("got", config.n); console.error("warned"); return { n: config.n * 2, taskId: context.taskId, trigger: context.trigger, attempt: context.attempt, aborted: context.signal.aborted } } };',
      { config: { n: 21 }, context: { taskId: 'job-1', trigger: 'schedule', slot: 1000, attempt: 2 } },
    );
    assert.equal(execution.outcome, 'succeeded');
    assert.ok(execution.outcome === 'succeeded');
    assert.deepEqual(JSON.parse(execution.result ?? 'null'), { n: 42, taskId: 'job-1', trigger: 'schedule', attempt: 2, aborted: false });
    assert.equal(execution.logs, 'got 21\nwarned\n');
  });

  test('a run is named by the id it was given: a second run under an id in flight is refused and disturbs nothing', async () => {
    const first = t.run('module.exports.main = () => new Promise((r) => setTimeout(() => r("first"), 300));', { runId: '42' });
    const second = await t.run('module.exports.main = () => "second";', { runId: '42' });
    assert.equal(failure(second).error.name, 'RunIdInFlight');
    const ended = await first;
    assert.equal(ended.outcome === 'succeeded' && ended.result, '"first"');
    const again = await t.run('module.exports.main = () => "again";', { runId: '42' });
    assert.equal(again.outcome === 'succeeded' && again.result, '"again"', 'an id is free again once its run has ended');
    const tooLong = await t.run('module.exports.main = () => 1;', { runId: 'x'.repeat(65) });
    assert.equal(failure(tooLong).error.name, 'InvalidRunId');
  });

  test('sloppy CommonJS: exports.main, implicit globals, top-level this === module.exports, async main', async () => {
    const execution = await t.run(
      'counter = 1; var self = this; exports.main = async function (config) { await new Promise((r) => setTimeout(r, 5)); counter += 1; return { counter, same: self === module.exports, config }; };',
      { config: 'a string config' },
    );
    assert.equal(execution.outcome, 'succeeded');
    assert.deepEqual(JSON.parse(execution.outcome === 'succeeded' ? execution.result ?? '' : ''), { counter: 2, same: true, config: 'a string config' });
  });

  test('top-level code runs on every run and globals of one run are not seen by the next', async () => {
    const first = await t.run('leaked = 42; globalThis.other = "x"; Object.prototype.polluted = true; module.exports.main = () => typeof leaked;');
    const second = await t.run('module.exports.main = () => ({ leaked: typeof leaked, other: typeof globalThis.other, polluted: ({}).polluted === true });');
    assert.equal(first.outcome === 'succeeded' && first.result, '"number"');
    assert.deepEqual(JSON.parse(second.outcome === 'succeeded' ? second.result ?? '' : ''), { leaked: 'undefined', other: 'undefined', polluted: false });
  });

  test('main returning undefined succeeds with a null result; a string result is JSON-encoded', async () => {
    const none = await t.run('module.exports.main = () => {};');
    assert.deepEqual([none.outcome, none.outcome === 'succeeded' && none.result], ['succeeded', null]);
    const text = await t.run('module.exports.main = () => "ok";');
    assert.equal(text.outcome === 'succeeded' && text.result, '"ok"');
  });

  test('axios and allowed built-ins can be required', async () => {
    const execution = await t.run('const axios = require("axios"); const crypto = require("node:crypto"); module.exports.main = () => [typeof axios.post, crypto.createHash("sha256").update("x").digest("hex").length];');
    assert.equal(execution.outcome === 'succeeded' && execution.result, '["function",64]');
  });

  test('executors run at a lower CPU priority than Director, so that scripts cannot make slots late', async () => {
    const execution = await t.run('module.exports.main = () => process.pid;');
    const pid = Number(execution.outcome === 'succeeded' ? execution.result : NaN);
    assert.equal(getPriority(pid), Math.min(19, getPriority() + EXECUTOR_NICENESS));
  });

  test('a result or log larger than its cap is cut: the result fails at serialize, the logs are marked', async () => {
    const big = await t.run('module.exports.main = () => "x".repeat(70 * 1024);');
    assert.equal(failure(big).error.stage, 'serialize');
    assert.match(failure(big).error.message, /DIRECTOR_RESULT_MAX_BYTES/);
    const chatty = await t.run('module.exports.main = () => { for (let i = 0; i < 1000; i++) console.log("line " + i); return 1; };');
    assert.ok(Buffer.byteLength(chatty.logs) < 4 * 1024 + 200, `logs are ${chatty.logs.length} chars`);
    assert.match(chatty.logs, /more bytes of logs were cut/);
  });
});

describe('executor pool: hostile scripts fail only their own run', () => {
  let t: TestPool;
  let watch: LoopWatch;
  before(async () => {
    t = await startTestPool({ size: 2, memoryMb: 64, drainMs: 500 });
    watch = watchEventLoop();
  });
  after(async () => {
    watch.stop();
    // After every hostile script the pool is still whole and still runs scripts.
    const healthy = await t.run('module.exports.main = () => "still here";');
    assert.equal(healthy.outcome === 'succeeded' && healthy.result, '"still here"');
    assert.equal(t.pool.state().executors, 2);
    await t.close();
  });

  const cases: Array<{ name: string; source: string; outcome: 'failed' | 'timed_out'; stage: string; message?: RegExp; timeoutMs?: number }> = [
    { name: 'while(true){}', source: 'module.exports.main = () => { while (true) {} };', outcome: 'timed_out', stage: 'timeout' },
    { name: 'an endless loop after an await', source: 'module.exports.main = async () => { await new Promise((r) => setTimeout(r, 10)); for (;;) {} };', outcome: 'timed_out', stage: 'timeout' },
    { name: 'an endless loop at top level', source: 'for (;;) {}', outcome: 'timed_out', stage: 'timeout' },
    { name: 'main never resolving', source: 'module.exports.main = () => new Promise(() => {});', outcome: 'timed_out', stage: 'timeout' },
    { name: 'process.exit(1)', source: 'module.exports.main = () => { process.exit(1); };', outcome: 'failed', stage: 'run', message: /process\.exit/ },
    { name: 'process.kill(process.ppid)', source: 'module.exports.main = () => { process.kill(process.ppid, "SIGKILL"); };', outcome: 'failed', stage: 'run' },
    { name: 'a growing-array memory bomb', source: 'module.exports.main = () => { const a = []; for (;;) a.push(new Array(100000).fill(a.length)); };', outcome: 'failed', stage: 'executor', message: /memory/, timeoutMs: 60_000 },
    { name: 'a large Buffer allocation loop', source: 'module.exports.main = () => { const a = []; for (;;) a.push(Buffer.alloc(16 * 1024 * 1024, 1)); };', outcome: 'failed', stage: 'executor', message: /memory/, timeoutMs: 60_000 },
    { name: 'an unhandled rejection', source: 'module.exports.main = async () => { Promise.reject(new Error("nobody catches me")); await new Promise((r) => setTimeout(r, 200)); return 1; };', outcome: 'failed', stage: 'run', message: /unhandled rejection: nobody catches me/ },
    { name: 'setTimeout(() => { throw … })', source: 'module.exports.main = () => new Promise(() => setTimeout(() => { throw new Error("thrown later"); }, 10));', outcome: 'failed', stage: 'run', message: /uncaught exception: thrown later/ },
    { name: 'a syntax error', source: 'module.exports.main = () => { return 1 +; };', outcome: 'failed', stage: 'compile', message: /Unexpected token/ },
    { name: 'no main', source: 'module.exports.other = () => 1;', outcome: 'failed', stage: 'compile', message: /does not export a main function/ },
    { name: 'a throwing main', source: 'module.exports.main = () => { throw new TypeError("bad input"); };', outcome: 'failed', stage: 'run', message: /bad input/ },
    { name: 'a circular result', source: 'module.exports.main = () => { const a = {}; a.self = a; return a; };', outcome: 'failed', stage: 'serialize', message: /circular/i },
    { name: 'a BigInt result', source: 'module.exports.main = () => ({ big: 10n });', outcome: 'failed', stage: 'serialize', message: /BigInt/ },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.outcome} at stage ${c.stage}, Director stays responsive`, async () => {
      const execution = await t.run(c.source, { timeoutMs: c.timeoutMs ?? 1000 });
      const failed = failure(execution);
      assert.equal(failed.outcome, c.outcome, JSON.stringify(failed.error));
      assert.equal(failed.error.stage, c.stage, JSON.stringify(failed.error));
      if (c.message) assert.match(failed.error.message, c.message);
      assert.ok(watch.maxGapMs() < 1000, `the event loop stalled for ${watch.maxGapMs()} ms`);
    });
  }

  test('a run killed at its timeout keeps the logs it wrote before', async () => {
    const execution = await t.run('module.exports.main = async () => { console.log("step 1 done"); await new Promise((r) => setTimeout(r, 500)); for (;;) {} };', { timeoutMs: 1500 });
    assert.equal(failure(execution).outcome, 'timed_out');
    assert.equal(execution.logs, 'step 1 done\n');
  });

  test('a run after a hostile one gets a working executor', async () => {
    await t.run('module.exports.main = () => { for (;;) {} };', { timeoutMs: 300 });
    const next = await t.run('module.exports.main = () => 7;');
    assert.equal(next.outcome === 'succeeded' && next.result, '7');
  });
});

describe('executor pool: pending work, queueing and shutdown', () => {
  test('work left pending past drainMs recycles the executor; the next run is unaffected', async () => {
    const t = await startTestPool({ size: 1, drainMs: 200 });
    try {
      const leaky = await t.run('module.exports.main = () => { setInterval(() => {}, 50); return "left a timer"; };');
      assert.equal(leaky.outcome, 'succeeded');
      const next = await t.run('module.exports.main = () => typeof setInterval;');
      assert.equal(next.outcome === 'succeeded' && next.result, '"function"');
    } finally {
      await t.close();
    }
  });

  test('runs beyond the pool size wait in the queue and all complete', async () => {
    const t = await startTestPool({ size: 2 });
    try {
      const runs = Array.from({ length: 8 }, (_, i) => t.run(`module.exports.main = async () => { await new Promise((r) => setTimeout(r, 30)); return ${i}; };`));
      const results = await Promise.all(runs);
      assert.deepEqual(results.map((r) => (r.outcome === 'succeeded' ? Number(r.result) : -1)), [0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await t.close();
    }
  });

  test('close(grace) aborts the signal, lets a cooperative script finish, kills the rest as shutdown failures', async () => {
    const t = await startTestPool({ size: 2 });
    const cooperative = t.run('module.exports.main = (c, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve("stopped cleanly")));', { timeoutMs: 60_000 });
    const stubborn = t.run('module.exports.main = () => new Promise(() => {});', { timeoutMs: 60_000 });
    // Both have entered main once a later run of a third task, sent after them, has finished.
    await t.run('module.exports.main = () => 1;');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await t.pool.close(500);
    const [a, b] = await Promise.all([cooperative, stubborn]);
    assert.equal(a.outcome === 'succeeded' && a.result, '"stopped cleanly"');
    assert.equal(failure(b).error.stage, 'shutdown');
    const late = await t.run('module.exports.main = () => 1;');
    assert.equal(failure(late).error.stage, 'shutdown');
  });
});

/** Pids whose parent is `pid`, read from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (new RegExp(`^PPid:\\s+${pid}$`, 'm').test(readFileSync(`/proc/${entry}/status`, 'utf8'))) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('executor pool: when Director dies', { skip: process.platform !== 'linux' }, () => {
  for (const policy of ['strict', 'trusted']) {
    test(`a ${policy} executor spinning in an endless loop dies with a SIGKILLed Director`, async () => {
      const owner = spawn(process.execPath, ['--import', 'tsx', new URL('./testing/looping-pool.ts', import.meta.url).pathname, policy], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        owner.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('looping')) resolve(); });
        owner.once('exit', () => reject(new Error('the pool process exited early')));
      });
      const executors = childrenOf(owner.pid ?? -1).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('executor.cjs'));
      assert.equal(executors.length, 1, 'one executor was running');
      owner.kill('SIGKILL');
      const deadline = Date.now() + 5000;
      while (executors.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(executors.filter(alive), [], 'the executor outlived Director');
    });
  }
});
