// The tasks view with 10,000 tasks, in Chromium: one list request, a page of rows, /status for those only.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { parseTask } from '../domain/task.js';
import { startDashboardBrowser, type DashboardBrowser } from '../../test/support/dashboard-browser.js';
import type { Harness } from '../../test/support/director-harness.js';

const COUNT = 10_000;
const TAGS = ['sla', 'billing', 'reports', 'nightly'];

describe('dashboard with 10,000 tasks', () => {
  let browser: DashboardBrowser;
  let harness: Harness;
  let base: string;
  let page: Page;
  const requests: string[] = [];

  before(async () => {
    browser = await startDashboardBrowser();
    ({ harness, base, page } = browser);
    // Straight into the store: stopped tasks need no scheduler, and 10,000 API calls would only slow the test.
    const now = Date.now();
    for (let i = 0; i < COUNT; i++) {
      const doc = {
        id: `task-${String(i).padStart(5, '0')}`, script: i % 7 === 0 ? 'report.js' : 'hello.js', running: false,
        interval: (1 + (i % 24)) * 3_600_000, tags: [TAGS[i % TAGS.length]!], config: { agreement: `tpa-${i}` },
      };
      await harness.director.store.putTask(parseTask(doc, { fallbackId: doc.id, createdMs: now, nowMs: now }));
    }
    page.on('request', (request) => requests.push(new URL(request.url()).pathname));
  });

  after(() => browser?.close());

  it('shows the first page soon, asking /status only for the visible rows', async () => {
    const started = Date.now();
    await page.goto(`${base}/`);
    await page.getByText(`Showing 1–50 of ${COUNT.toLocaleString('en')} tasks`).waitFor({ timeout: 20_000 });
    const loadMs = Date.now() - started;
    assert.ok(loadMs < 15_000, `first page after ${loadMs} ms`);
    assert.equal(await page.locator('table.tasks tbody tr').count(), 50);
    await page.locator('tr[data-task-id="task-00049"] .last-run, tr[data-task-id="task-00049"] td:has-text("never")').first().waitFor();
    assert.equal(requests.filter((p) => p === '/api/v1/tasks').length, 1);
    const statuses = requests.filter((p) => p.endsWith('/status'));
    assert.ok(statuses.length <= 50, `${statuses.length} /status requests`);
  });

  it('filters, sorts and pages in the browser without lag', async () => {
    // Time from the keystroke to the rendered result, measured in the page.
    // Page code is given as text: this file is typechecked without the DOM library.
    const filterMs = await page.evaluate<number>(`(async () => {
      const input = document.getElementById('filter-text');
      const started = performance.now();
      input.value = 'task-09999';
      input.dispatchEvent(new Event('input', { bubbles: true }));
      while (document.querySelectorAll('table.tasks tbody tr').length !== 1) await new Promise(requestAnimationFrame);
      return performance.now() - started;
    })()`);
    assert.ok(filterMs < 1000, `search took ${filterMs} ms`);
    await page.getByLabel('Search id or script').fill('');
    await page.getByLabel('Tag').selectOption('billing');
    await page.getByText('Showing 1–50 of 2,500 tasks (filtered from 10,000)').waitFor();
    await page.getByLabel('Search id or script').fill('report.js');
    await page.getByText(/of 357 tasks/).waitFor();
    await page.getByLabel('Search id or script').fill('');
    await page.getByLabel('Tag').selectOption('');

    await page.getByRole('button', { name: 'Interval' }).click();
    await page.getByRole('button', { name: 'Interval' }).click();
    assert.equal(await page.locator('th', { hasText: 'Interval' }).getAttribute('aria-sort'), 'descending');
    assert.match(await page.locator('table.tasks tbody tr').first().innerText(), /every 1 d/);
    await page.getByRole('button', { name: 'Last' }).click();
    await page.getByText('Page 200 of 200').waitFor();
    assert.match(await page.locator('table.tasks tbody tr').last().innerText(), /every 1 h/);
  });
});
