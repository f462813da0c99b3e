// The TaskRunner end to end: real SQLite store, real executors, scripts from a loopback assets server.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAssetsServer, type AssetsServer } from '../../test/support/assets-server.js';
import { createAssets } from '../assets/assets.js';
import { testConfig, type Config } from '../config.js';
import type { RunRecord } from '../domain/run.js';
import { parseTask, type Task } from '../domain/task.js';
import { systemClock } from '../lib/clock.js';
import { DirectorEvents } from '../lib/events.js';
import { createLogger } from '../lib/logger.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { createTaskRunner, type DirectorTaskRunner } from './task-runner.js';

interface Fixture {
  readonly config: Config;
  readonly store: Store;
  readonly server: AssetsServer;
  readonly events: DirectorEvents;
  readonly runner: DirectorTaskRunner;
  task(body: Record<string, unknown>): Promise<Task>;
  claim(task: Task, slot: number): Promise<RunRecord>;
  close(): Promise<void>;
}

async function startFixture(overrides: Partial<Config> = {}): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'director-runner-'));
  const server = await startAssetsServer();
  const config = testConfig({ assetsUrl: server.url, executors: 2, executorMemoryMb: 64, drainMs: 2000, ...overrides });
  const store = await openSqliteStore({ file: path.join(dir, 'director.sqlite') });
  const events = new DirectorEvents();
  const assets = createAssets({ config });
  const runner = createTaskRunner({ config, store, assets, env: process.env, events, clock: systemClock, logger: createLogger('silent') });
  await runner.ready();
  return {
    config, store, server, events, runner,
    async task(body) {
      const now = Date.now();
      const task = parseTask({ running: true, ...body }, { fallbackId: 'x', createdMs: now, nowMs: now });
      await store.putTask(task);
      return task;
    },
    async claim(task, slot) {
      const [run] = await store.claimSlots([{ taskId: task.id, slot, owner: config.instanceId, nowMs: Date.now(), leaseMs: config.leaseMs }]);
      assert.ok(run, 'the slot was claimed');
      return run;
    },
    async close() {
      await runner.close(1000);
      assets.close();
      await store.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('task runner', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f.close());

  test('a claimed run fetches the script, records result, logs, script URL and SHA-256, and announces start and end', async () => {
    const source = 'module.exports.main = (config, context) => { console.log("slot", context.slot); return { agreement: config.agreementId, trigger: context.trigger }; };';
    f.server.setScript('report.js', source);
    const task = await f.task({ id: 'report', script: 'report.js', config: { agreementId: 'tpa-1' }, interval: 60_000 });
    const slot = Date.now() - 5;
    const run = await f.claim(task, slot);
    const started = f.events.next('run:started', (r) => r.id === run.id);
    const finished = f.events.next('run:finished', (r) => r.id === run.id);
    const ended = await f.runner.runClaimed(task, run);
    assert.equal((await started).status, 'running');
    assert.equal((await finished).status, 'succeeded');
    assert.equal(ended.status, 'succeeded');
    assert.deepEqual(JSON.parse(ended.result ?? 'null'), { agreement: 'tpa-1', trigger: 'schedule' });
    assert.equal(ended.logs, `slot ${slot}\n`);
    assert.equal(ended.scriptUrl, f.server.scriptUrl('report.js'));
    assert.equal(ended.scriptSha256, sha256(source));
    assert.ok((ended.latenessMs ?? -1) >= 0);
    assert.deepEqual(await f.store.getRun(run.id), ended);
  });

  test('every run fetches the script again: a changed script changes the next run', async () => {
    f.server.setScript('version.js', 'module.exports.main = () => 1;');
    const task = await f.task({ id: 'version', script: 'version.js' });
    const first = await f.runner.runNow(task);
    f.server.setScript('version.js', 'module.exports.main = () => 2;');
    const second = await f.runner.runNow(task);
    assert.deepEqual([first.result, second.result], ['1', '2']);
    assert.notEqual(first.scriptSha256, second.scriptSha256);
    const fetches = f.server.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/version.js'));
    assert.equal(fetches.length, 2);
  });

  test('a script that cannot be fetched is a failed run at stage fetch', async () => {
    const task = await f.task({ id: 'missing', script: 'missing.js' });
    const missing = await f.runner.runNow(task);
    assert.equal(missing.status, 'failed');
    assert.equal(missing.error?.stage, 'fetch');
    assert.match(missing.error?.message ?? '', /404/);
    assert.equal(missing.scriptUrl, f.server.scriptUrl('missing.js'));
    const unreachable = await f.task({ id: 'unreachable', script: 'http://127.0.0.1:9/nothing.js' });
    const refused = await f.runner.runNow(unreachable);
    assert.equal(refused.error?.stage, 'fetch');
    assert.match(refused.error?.message ?? '', /ECONNREFUSED/);
  });

  test('an un-awaited axios.post made by a script is delivered (requestTpaReport shape)', async () => {
    const url = `${f.server.url}/api/v4/contracts/agreement-9/createPointsFromPeriods`;
    f.server.setScript('request-report.js', `"use strict";
const axios = require("axios");
module.exports.main = (config) => {
  const result = { date: new Date(), log: [] };
  axios.post(${JSON.stringify(url)}, { periods: config.periods }).then(() => result.log.push("requested"));
  return result;
};`);
    const task = await f.task({ id: 'request-report', script: 'request-report.js', config: { periods: [1, 2] } });
    const run = await f.runner.runNow(task);
    assert.equal(run.status, 'succeeded');
    const delivered = await f.server.waitForRequest((r) => r.method === 'POST' && r.path.endsWith('/createPointsFromPeriods'), 5000);
    assert.deepEqual(JSON.parse(delivered.body), { periods: [1, 2] });
  });

  test('runNow records a manual run of attempt 1 with no slot and passes `configuration` when there is no `config`', async () => {
    f.server.setScript('echo.js', 'module.exports.main = (config, context) => ({ config, slot: context.slot });');
    const task = await f.task({ id: 'echo', script: 'echo.js', configuration: { k: 1 }, running: false });
    const run = await f.runner.runNow(task);
    assert.deepEqual([run.trigger, run.slot, run.attempt, run.status], ['manual', null, 1, 'succeeded']);
    assert.deepEqual(JSON.parse(run.result ?? 'null'), { config: { k: 1 }, slot: null });
    assert.equal((await f.store.listRuns('echo')).length, 1);
  });

  test('runTest runs text with a config and stores nothing', async () => {
    f.server.setScript('marker.js', 'module.exports.main = () => 0;');
    const marker = await f.task({ id: 'marker', script: 'marker.js' });
    const before = await f.runner.runNow(marker);
    const report = await f.runner.runTest('governify = {}; module.exports = { main: async (c) => ({ ok: true, c }) };', '{"a":1}');
    assert.equal(report.outcome, 'succeeded');
    assert.deepEqual(JSON.parse(report.outcome === 'succeeded' ? report.result ?? '' : ''), { ok: true, c: '{"a":1}' });
    assert.equal(report.scriptUrl, null);
    const failed = await f.runner.runTest('module.exports.main = () => { throw new Error("nope"); };', {});
    assert.equal(failed.outcome === 'failed' && failed.error.stage, 'run');
    // Run ids are consecutive: no row was written for the two test runs in between.
    assert.equal((await f.runner.runNow(marker)).id, before.id + 1);
  });

  test('a task\'s own timeout applies to scheduled runs and /run alike', async () => {
    f.server.setScript('slow.js', 'module.exports.main = () => new Promise((r) => setTimeout(() => r("done"), 700));');
    const task = await f.task({ id: 'slow', script: 'slow.js', timeout: 200, interval: 60_000 });
    const scheduled = await f.runner.runClaimed(task, await f.claim(task, Date.now()));
    assert.equal(scheduled.status, 'timed_out');
    assert.equal(scheduled.error?.stage, 'timeout');
    assert.equal((await f.runner.runNow(task)).status, 'timed_out');
  });
});

describe('task runner: default timeouts', () => {
  test('without a task timeout, scheduled runs get DIRECTOR_RUN_TIMEOUT_MS and /run the longer manual default', async () => {
    const f = await startFixture({ runTimeoutMs: 300, manualRunTimeoutMs: 10_000 });
    try {
      f.server.setScript('slow.js', 'module.exports.main = () => new Promise((r) => setTimeout(() => r("done"), 700));');
      const task = await f.task({ id: 'slow', script: 'slow.js', interval: 60_000 });
      const scheduled = await f.runner.runClaimed(task, await f.claim(task, Date.now()));
      assert.equal(scheduled.status, 'timed_out');
      assert.match(scheduled.error?.message ?? '', /within 300 ms/);
      assert.equal((await f.runner.runNow(task)).status, 'succeeded');
      assert.equal((await f.runner.runTest('module.exports.main = () => new Promise((r) => setTimeout(() => r(1), 700));', {})).outcome, 'succeeded');
    } finally {
      await f.close();
    }
  });
});

describe('task runner: leases and shutdown', () => {
  // Renewing leases is the lease keeper's work (src/scheduler/lease-keeper.ts), tested there.
  test('close(grace) records a run still going as failed at stage shutdown', async () => {
    const f = await startFixture({ leaseMs: 1000 });
    let closed = false;
    try {
      f.server.setScript('forever.js', 'module.exports.main = () => new Promise(() => {});');
      const task = await f.task({ id: 'forever', script: 'forever.js', interval: 60_000 });
      const run = await f.claim(task, Date.now());
      const ending = f.runner.runClaimed(task, run);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await f.store.getRun(run.id))?.status, 'running');
      await f.runner.close(300);
      closed = true;
      const ended = await ending;
      assert.equal(ended.status, 'failed');
      assert.equal(ended.error?.stage, 'shutdown');
      assert.equal((await f.store.getRun(run.id))?.error?.stage, 'shutdown');
      assert.equal(f.runner.poolState().running, 0);
    } finally {
      if (!closed) await f.runner.close(0);
      await f.close();
    }
  });
});

describe('task runner: run ids across the executor boundary', () => {
  test('an executor\'s message about run X settles the store\'s run X: the executor speaks of a run by its row\'s id', async () => {
    const f = await startFixture({ scriptPolicy: 'trusted', executors: 1 });
    try {
      const task = await f.task({ id: 'speaks', script: 'speaks.js', interval: 60_000 });
      const run = await f.claim(task, Date.now());
      // A trusted script can write to its executor's channel: it ends its own run by the row's id, and
      // never returns. Under any other id the executor would be killed for speaking of a run it does not hold.
      f.server.setScript('speaks.js', `module.exports.main = () => {
        const header = Buffer.from(JSON.stringify({ type: 'end', runId: '${run.id}', outcome: 'succeeded', resultBytes: 8 }));
        const body = Buffer.from('"spoken"said so\\n');
        const prefix = Buffer.alloc(8); prefix.writeUInt32BE(4 + header.length + body.length, 0); prefix.writeUInt32BE(header.length, 4);
        require('fs').writeSync(3, Buffer.concat([prefix, header, body]));
        return new Promise(() => {});
      };`);
      const ended = await f.runner.runClaimed(task, run);
      assert.equal(ended.status, 'succeeded', JSON.stringify(ended.error));
      const stored = await f.store.getRun(run.id);
      assert.equal(stored?.result, '"spoken"');
      assert.equal(stored?.logs, 'said so\n');
    } finally {
      await f.close();
    }
  });
});
