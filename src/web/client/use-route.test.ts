// Hash routes: the views a link opens, including a run (the links of failure notifications).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hrefOf, parseRoute } from './use-route.js';
import { runLink } from '../../notifications/notify-on-runs.js';

describe('routes', () => {
  it('opens a task, its edit form, or one of its runs', () => {
    assert.deepEqual(parseRoute('#/tasks/a%2Fb'), { view: 'task', id: 'a/b' });
    assert.deepEqual(parseRoute('#/tasks/a%2Fb/edit'), { view: 'edit', id: 'a/b' });
    assert.deepEqual(parseRoute('#/tasks/a%2Fb/runs/42'), { view: 'task', id: 'a/b', runId: 42 });
    assert.deepEqual(parseRoute('#/tasks/x/runs/abc'), { view: 'tasks' });
    assert.deepEqual(parseRoute(hrefOf.run('é x', 7)), { view: 'task', id: 'é x', runId: 7 });
  });

  it('reads the link a notification carries as that run of that task', () => {
    const link = runLink('https://director.example/ops', 'tpa/1 x', 9);
    assert.equal(link, 'https://director.example/ops/#/tasks/tpa%2F1%20x/runs/9');
    assert.deepEqual(parseRoute(new URL(link).hash), { view: 'task', id: 'tpa/1 x', runId: 9 });
  });
});
