// The channel from executors to Director: frames are capped before they are read, and an executor that
// breaks the protocol (or must be killed for one of its runs) ends alone, its other runs recorded lost.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { failure, startTestPool, watchEventLoop, type TestPool } from './testing/test-pool.js';

const { encodeFrame, createFrameReader } = createRequire(import.meta.url)('./executor/frames.cjs') as {
  encodeFrame(header: object, body?: Buffer | null): Buffer;
  createFrameReader(options: { maxFrameBytes: number; maxHeaderBytes: number; onFrame: (frame: { header: Record<string, unknown>; body: Buffer }) => void; onError: (reason: string) => void }): { push(chunk: Buffer): void };
};

describe('executor frames', () => {
  test('reads frames split across chunks and several frames in one chunk, body bytes untouched', () => {
    const frames: Array<{ header: Record<string, unknown>; body: string }> = [];
    const reader = createFrameReader({ maxFrameBytes: 1024, maxHeaderBytes: 256, onFrame: ({ header, body }) => frames.push({ header, body: body.toString() }), onError: (reason) => assert.fail(reason) });
    const bytes = Buffer.concat([encodeFrame({ type: 'log', runId: '1' }, Buffer.from('héllo "quoted"\n')), encodeFrame({ type: 'ready' })]);
    for (let i = 0; i < bytes.length; i += 3) reader.push(bytes.subarray(i, i + 3));
    assert.deepEqual(frames, [{ header: { type: 'log', runId: '1' }, body: 'héllo "quoted"\n' }, { header: { type: 'ready' }, body: '' }]);
  });

  test('refuses a frame announced larger than the cap from its first four bytes, and reads nothing after', () => {
    const errors: string[] = [];
    let frames = 0;
    const reader = createFrameReader({ maxFrameBytes: 1024, maxHeaderBytes: 256, onFrame: () => { frames += 1; }, onError: (reason) => errors.push(reason) });
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(100 * 1024 * 1024);
    reader.push(prefix);
    reader.push(encodeFrame({ type: 'ready' }));
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /104857600 bytes/);
    assert.equal(frames, 0);
  });

  test('refuses a header that is not a JSON object', () => {
    const errors: string[] = [];
    const reader = createFrameReader({ maxFrameBytes: 1024, maxHeaderBytes: 256, onFrame: () => assert.fail('no frame'), onError: (reason) => errors.push(reason) });
    const head = Buffer.from('[1,2]');
    const frame = Buffer.alloc(8 + head.length);
    frame.writeUInt32BE(4 + head.length, 0);
    frame.writeUInt32BE(head.length, 4);
    head.copy(frame, 8);
    reader.push(frame);
    assert.deepEqual(errors, ['a message whose header is not an object']);
  });
});

describe('executor channel under trusted: a forged message ends its executor, never Director', () => {
  let t: TestPool;
  before(async () => {
    t = await startTestPool({ size: 1, policy: 'trusted' });
  });
  after(() => t.close());

  test('a script announcing a 100 MB message: Director never reads it, stays responsive, and the executor is replaced', async () => {
    const watch = watchEventLoop();
    try {
      const bystander = t.run('module.exports.main = () => new Promise((r) => setTimeout(() => r("finished"), 3000));', { timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const forger = await t.run(`module.exports.main = () => {
        const fs = require('fs');
        const header = Buffer.from(JSON.stringify({ type: 'log', runId: '1' }));
        const prefix = Buffer.alloc(8); prefix.writeUInt32BE(100 * 1024 * 1024, 0); prefix.writeUInt32BE(header.length, 4);
        fs.writeSync(3, Buffer.concat([prefix, header]));
        for (let i = 0; i < 10; i++) fs.writeSync(3, Buffer.alloc(10 * 1024 * 1024, 0x61));
        return 'sent';
      };`);
      assert.equal(forger.outcome, 'lost');
      assert.equal(failure(forger).error.stage, 'executor');
      const shared = await bystander;
      assert.equal(shared.outcome, 'lost', 'the other run of the executor that had to be killed is lost, not failed');
      assert.ok(watch.maxGapMs() < 250, `Director's event loop stalled ${watch.maxGapMs()} ms`);
      const next = await t.run('module.exports.main = () => "a fresh executor";');
      assert.equal(next.outcome === 'succeeded' && next.result, '"a fresh executor"');
    } finally {
      watch.stop();
    }
  });

  test('a script speaking for a run its executor does not hold gets the executor killed', async () => {
    const forger = await t.run(`module.exports.main = () => {
      const header = Buffer.from(JSON.stringify({ type: 'end', runId: 'not-a-run', outcome: 'succeeded', resultBytes: 2 }));
      const prefix = Buffer.alloc(8); prefix.writeUInt32BE(4 + header.length + 2, 0); prefix.writeUInt32BE(header.length, 4);
      require('fs').writeSync(3, Buffer.concat([prefix, header, Buffer.from('42')]));
      return new Promise(() => {});
    };`, { timeoutMs: 10_000 });
    assert.equal(forger.outcome, 'lost');
    const next = await t.run('module.exports.main = () => 1;');
    assert.equal(next.outcome, 'succeeded');
  });

  test('a run that blocks its shared executor past its timeout: it times out, the executor is killed, the other runs in it are lost', async () => {
    const other = t.run('module.exports.main = () => new Promise((r) => setTimeout(() => r("would finish"), 4000));', { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const blocker = await t.run('module.exports.main = () => { for (;;) {} };', { timeoutMs: 300 });
    assert.equal(blocker.outcome, 'timed_out');
    const shared = await other;
    assert.equal(shared.outcome, 'lost');
    assert.match(failure(shared).error.message, /blocked the executor/);
    const next = await t.run('module.exports.main = () => "replaced";');
    assert.equal(next.outcome === 'succeeded' && next.result, '"replaced"');
  });

  test('a run that times out while its executor still answers ends alone: its signal is aborted, the others finish', async () => {
    const other = t.run('module.exports.main = () => new Promise((r) => setTimeout(() => r("finished"), 1500));', { timeoutMs: 10_000 });
    const slow = await t.run('module.exports.main = (c, ctx) => new Promise((r) => ctx.signal.addEventListener("abort", () => r("aborted")));', { timeoutMs: 300 });
    assert.equal(slow.outcome, 'timed_out');
    const shared = await other;
    assert.equal(shared.outcome === 'succeeded' && shared.result, '"finished"');
  });
});
