// The task the store benchmarks write: the same document for both stores, so their figures compare.

import { parseTask, type Task } from '../../src/domain/task.js';

/** A fixed instant in the future, so that every slot and claim lies ahead of the stored tasks. */
export const T0 = Date.UTC(2030, 0, 1);

/** `n` varies the config, so that writing the same id again replaces a task rather than repeating it. */
export function sampleTask(id: string, n = 42): Task {
  return parseTask(
    { id, script: 'https://assets.test/api/v1/public/director/hello.js', running: true, init: T0, interval: 60_000, config: { course: id, n }, tags: { keyValue: { type: 'course' } } },
    { fallbackId: id, createdMs: T0, nowMs: T0 },
  );
}
