// The run limit: at most `size` runs in progress, the others in the order they came.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRunLimit } from './run-limit.js';

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('run limit', () => {
  test('lets `size` in at once, the others in the order they came, and a release counts once', async () => {
    const limit = createRunLimit(2);
    const order: number[] = [];
    const entries = [0, 1, 2, 3].map((i) => limit.enter().then((release) => {
      order.push(i);
      return release;
    }));
    await turns(2);
    assert.deepEqual(order, [0, 1]);
    const first = await entries[0] as () => void;
    first();
    first(); // twice: still one place freed
    await turns(2);
    assert.deepEqual(order, [0, 1, 2]);
    (await entries[1] as () => void)();
    await turns(2);
    assert.deepEqual(order, [0, 1, 2, 3]);
    assert.equal(limit.waiting(), 0);
    assert.equal(limit.inside(), 2);
  });
});
