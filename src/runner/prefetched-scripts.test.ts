import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchedScript } from '../assets/fetch-script.js';
import { parseTask, type Task } from '../domain/task.js';
import { createPrefetchedScripts } from './prefetched-scripts.js';

function task(id: string, script = `${id}.js`): Task {
  return parseTask({ id, script, running: true, interval: 1000, config: {} }, { fallbackId: id, createdMs: 0, nowMs: 0 });
}

function setUp() {
  let nowMs = 0;
  const fetched: string[] = [];
  const scripts = createPrefetchedScripts({
    now: () => nowMs,
    fetchScript: (script) => {
      fetched.push(script);
      return script.startsWith('broken')
        ? Promise.reject(new Error('assets manager down'))
        : Promise.resolve<FetchedScript>({ url: `http://assets/${script}`, text: `// ${script} #${fetched.length}`, sha256: 'x' });
    },
  });
  return { scripts, fetched, advance: (ms: number) => { nowMs += ms; } };
}

describe('prefetched scripts', () => {
  test('a slot\'s run takes the script fetched for it, once', async () => {
    const { scripts, fetched } = setUp();
    scripts.fetch(task('a'), 5000);
    assert.deepEqual(fetched, ['a.js']);
    assert.equal((await scripts.take('a', 5000, 'a.js'))?.text, '// a.js #1');
    assert.equal(scripts.take('a', 5000, 'a.js'), undefined, 'a prefetched script serves one run');
  });

  test('another slot, another script or a dropped task finds nothing', () => {
    const { scripts } = setUp();
    scripts.fetch(task('a'), 5000);
    assert.equal(scripts.take('a', 6000, 'a.js'), undefined);
    scripts.fetch(task('b'), 5000);
    assert.equal(scripts.take('b', 5000, 'b2.js'), undefined, 'the task now has another script');
    scripts.fetch(task('c'), 5000);
    scripts.drop('c');
    assert.equal(scripts.take('c', 5000, 'c.js'), undefined);
    assert.equal(scripts.size(), 1);
  });

  test('a task faster than the lead keeps one fetch per slot, each for its own run', async () => {
    const { scripts, fetched } = setUp();
    scripts.fetch(task('fast'), 1000);
    scripts.fetch(task('fast'), 1500);
    scripts.fetch(task('fast'), 1500);
    assert.deepEqual(fetched, ['fast.js', 'fast.js'], 'a slot is fetched once');
    assert.equal((await scripts.take('fast', 1500, 'fast.js'))?.text, '// fast.js #2');
    assert.equal((await scripts.take('fast', 1000, 'fast.js'))?.text, '// fast.js #1');
  });

  test('a script kept too long is not served: the run fetches its own', () => {
    const { scripts, advance } = setUp();
    scripts.fetch(task('late'), 1000);
    advance(3001);
    assert.equal(scripts.take('late', 1000, 'late.js'), undefined);
  });

  test('a failed prefetch is handed to the run as a rejection, and is no unhandled rejection meanwhile', async () => {
    const { scripts } = setUp();
    scripts.fetch(task('broken'), 1000);
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(scripts.take('broken', 1000, 'broken.js') ?? Promise.resolve(), /assets manager down/);
  });

  test('entries whose run never came are swept', () => {
    const { scripts, advance } = setUp();
    scripts.fetch(task('never'), 1000);
    advance(5000);
    scripts.fetch(task('next'), 7000);
    assert.equal(scripts.size(), 1);
  });
});
