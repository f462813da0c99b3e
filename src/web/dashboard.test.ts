// The dashboard end to end in Debian's Chromium: create, run, logs, stop, live updates, delete.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startDashboardBrowser, type DashboardBrowser } from '../../test/support/dashboard-browser.js';
import type { Harness } from '../../test/support/director-harness.js';

const OUTPUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-output');
const SCRIPT = `module.exports.main = async (config, context) => {
  console.log('hello from the dashboard test, task ' + context.taskId);
  await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 40)));
  return { greeting: 'hello ' + (config.name || 'world') };
};`;

describe('dashboard in Chromium', () => {
  let browser: DashboardBrowser;
  let harness: Harness;
  let base: string;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    browser = await startDashboardBrowser();
    ({ harness, base, page } = browser);
    harness.assets.setScript('hello.js', SCRIPT);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // Answers such as the 404 of "does this id exist?" and the 500 of a failing script are expected.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console error: ${message.text()}`);
    });
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
  });

  after(() => browser?.close());

  it('shows the API’s own message for a bad interval, on the field', async () => {
    await page.getByRole('link', { name: 'New task' }).first().click();
    await page.getByLabel('Id', { exact: true }).fill('bad-interval');
    await page.getByLabel('Interval (ms)').fill('0');
    await page.getByRole('button', { name: 'Create task' }).click();
    const fieldError = page.locator('#task-interval-error');
    await fieldError.waitFor();
    const api = await harness.call('POST', '/api/v1/tasks', { id: 'bad-interval', script: 'hello.js', running: false, interval: 0, config: {} });
    assert.equal(api.status, 400);
    assert.equal(await fieldError.textContent(), api.body.message);
    assert.equal(await page.getByLabel('Interval (ms)').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'task-interval', 'focus moves to the field in error');
    assert.equal((await harness.call('GET', '/api/v1/tasks/bad-interval')).status, 404, 'nothing was stored');
  });

  it('creates a task through the form and lists it', async () => {
    await page.goto(`${base}/#/new`);
    await page.getByLabel('Id', { exact: true }).fill('e2e-hello');
    await page.getByLabel('Script').fill('hello.js');
    await page.getByLabel('Running (scheduled at its slots)').check();
    await page.getByLabel('Interval (ms)').fill('3600000');
    await page.getByText('every 1 h').waitFor();
    await page.getByLabel('Tags').fill('e2e, demo');
    await page.getByLabel('Config (JSON passed to main)').fill('{"name": "dashboard"}');
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.waitForURL(/#\/tasks\/e2e-hello$/);
    await page.getByRole('heading', { name: /e2e-hello/ }).waitFor();

    const stored = await harness.call('GET', '/api/v1/tasks/e2e-hello');
    assert.deepEqual(stored.body, { id: 'e2e-hello', script: 'hello.js', running: true, interval: 3600000, tags: ['e2e', 'demo'], config: { name: 'dashboard' } });

    await page.getByRole('link', { name: '← All tasks' }).click();
    const row = page.locator('tr[data-task-id="e2e-hello"]');
    await row.waitFor();
    assert.match(await row.innerText(), /every 1 h/);
    assert.match(await row.innerText(), /Running/);
    await row.getByText(/^in (59 min|1 h)/).waitFor();
  });

  it('runs it now and shows the result, then the run with its logs', async () => {
    await page.locator('tr[data-task-id="e2e-hello"]').getByRole('link', { name: 'e2e-hello' }).click();
    await page.getByRole('button', { name: 'Run now' }).click();
    const result = page.getByRole('region', { name: 'Run result' });
    await result.getByRole('heading', { name: 'Run succeeded' }).waitFor();
    assert.match(await result.innerText(), /"greeting": "hello dashboard"/);

    const run = page.locator('table.runs tbody tr[data-run-id]').first();
    await run.getByText('Succeeded').waitFor();
    assert.match(await run.innerText(), /manual/);
    // Lateness and the queue wait are shown apart; a manual run has no slot, so no lateness.
    assert.equal(await page.locator('table.runs thead th').filter({ hasText: 'Queue wait' }).count(), 1);
    assert.match(await run.locator('td[data-label="Queue wait"]').innerText(), /\d+\s*ms|\d+(\.\d+)?\s*s/);
    await run.getByRole('button', { name: /Logs/ }).click();
    await page.locator('.run-details .logs').getByText('hello from the dashboard test, task e2e-hello').waitFor();
    assert.equal(await run.getByRole('button', { name: /Hide/ }).getAttribute('aria-expanded'), 'true');
  });

  it('stops it', async () => {
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('heading', { name: /e2e-hello/ }).getByText('Stopped').waitFor();
    await page.getByRole('button', { name: 'Start', exact: true }).waitFor();
    assert.equal((await harness.call('GET', '/api/v1/tasks/e2e-hello')).body.running, false);
  });

  it('shows changes made outside the browser without a reload', async () => {
    // Page code is given as text: this file is typechecked without the DOM library.
    await page.evaluate('window.notReloaded = true');
    // A run started through the API appears in the open task's history.
    const before = await page.locator('table.runs tbody tr[data-run-id]').count();
    assert.equal((await harness.call('POST', '/api/v1/tasks/e2e-hello/run')).status, 200);
    await page.locator('table.runs tbody tr[data-run-id]').nth(before).waitFor();
    // A start through the API flips the badge.
    await harness.call('POST', '/api/v1/tasks/e2e-hello/status/start');
    await page.getByRole('heading', { name: /e2e-hello/ }).getByText('Running').waitFor();
    // A task created through the API appears in the list.
    await page.getByRole('link', { name: '← All tasks' }).click();
    await harness.call('POST', '/api/v1/tasks', { id: 'made-elsewhere', script: 'hello.js', running: false, config: {} });
    await page.locator('tr[data-task-id="made-elsewhere"]').waitFor();
    assert.match(await page.locator('tr[data-task-id="made-elsewhere"]').innerText(), /on demand/);
    // …and disappears when deleted through the API.
    await harness.call('DELETE', '/api/v1/tasks/made-elsewhere');
    await page.locator('tr[data-task-id="made-elsewhere"]').waitFor({ state: 'detached' });
    assert.equal(await page.evaluate('window.notReloaded'), true);
  });

  it('creates a cron task through the form and shows the cron and its next instants in its zone', async () => {
    await page.goto(`${base}/#/new`);
    await page.getByLabel('Id', { exact: true }).fill('e2e-cron');
    await page.getByLabel('Script').fill('hello.js');
    await page.getByLabel('Running (scheduled at its slots)').check();
    await page.getByLabel('Cron (instead of interval)').fill('30 2 * * *');
    await page.getByLabel('Time zone of the cron').fill('Europe/Atlantis');
    await page.getByRole('button', { name: 'Create task' }).click();
    const zoneError = page.locator('#task-timezone-error');
    await zoneError.waitFor();
    assert.match((await zoneError.textContent()) ?? '', /^timezone: "Europe\/Atlantis" is not a known IANA time zone/);
    await page.getByLabel('Time zone of the cron').fill('Europe/Madrid');
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.waitForURL(/#\/tasks\/e2e-cron$/);

    assert.deepEqual((await harness.call('GET', '/api/v1/tasks/e2e-cron')).body, { id: 'e2e-cron', script: 'hello.js', running: true, cron: '30 2 * * *', timezone: 'Europe/Madrid', config: {} });
    await page.getByText('cron 30 2 * * * (Europe/Madrid)').waitFor();
    await page.getByRole('heading', { name: 'Next slots in Europe/Madrid' }).waitFor();
    const slots = await page.locator('ol.slots li .zoned').allTextContents();
    assert.equal(slots.length, 5);
    for (const slot of slots) assert.match(slot, /^\d{4}-\d{2}-\d{2} 02:30:00 GMT\+[12]$/);
    await page.getByRole('link', { name: '← All tasks' }).click();
    assert.match(await page.locator('tr[data-task-id="e2e-cron"]').innerText(), /cron 30 2 \* \* \* \(Europe\/Madrid\)/);
    await harness.call('DELETE', '/api/v1/tasks/e2e-cron');
  });

  it('saves screenshots of the tasks view and a task detail', async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const kinds = [['sla', 'nightly'], ['billing'], ['reports'], []];
    for (let i = 1; i <= 12; i++) {
      await harness.call('POST', '/api/v1/tasks', {
        id: `tpa-${String(i).padStart(2, '0')}`, script: 'hello.js', running: i % 4 !== 0, interval: [60000, 3600000, 86400000, 900000][i % 4],
        init: '2025-01-01T00:00:00Z', tags: kinds[i % 4], config: { name: `agreement ${i}` },
      });
    }
    await harness.call('POST', '/api/v1/tasks/tpa-01/run');
    harness.assets.setScript('broken.js', "module.exports.main = async () => { throw new Error('the SLA source is unreachable'); };");
    await harness.call('POST', '/api/v1/tasks', { id: 'billing-sync', script: 'broken.js', running: false, tags: ['billing'], config: {} });
    for (let i = 0; i < 2; i++) await harness.call('POST', '/api/v1/tasks/billing-sync/run');
    // A task every second gives the chart scheduled runs, with lateness.
    await harness.call('POST', '/api/v1/tasks', { id: 'every-second', script: 'hello.js', running: true, interval: 1000, tags: ['demo'], config: { name: 'tick' } });
    for (let i = 0; i < 100; i++) {
      const { body } = await harness.call('GET', '/api/v1/tasks/every-second/runs');
      if (body.runs.filter((r: { status: string }) => r.status !== 'running').length >= 6) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await harness.call('POST', '/api/v1/tasks/every-second/status/stop');

    // A fresh load: no messages left over from the steps before.
    await page.goto(`${base}/#/`);
    await page.reload();
    await page.locator('tr[data-task-id="tpa-12"]').waitFor();
    await page.locator('tr[data-task-id="tpa-01"] .last-run').waitFor();
    await page.locator('tr[data-task-id="every-second"] .last-run').waitFor();
    await page.locator('tr[data-task-id="billing-sync"] td.failing').waitFor();
    await page.screenshot({ path: path.join(OUTPUT, 'tasks-view.png') });

    await page.locator('tr[data-task-id="every-second"]').getByRole('link', { name: 'every-second' }).click();
    await page.locator('.chart svg').waitFor();
    await page.locator('table.runs tbody tr[data-run-id]').first().getByRole('button', { name: /Logs/ }).click();
    await page.locator('.run-details .logs').waitFor();
    assert.match(await page.locator('table.runs tbody tr[data-run-id]').first().innerText(), /schedule/);
    await page.screenshot({ path: path.join(OUTPUT, 'task-detail.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/#/`);
    await page.locator('tr[data-task-id="tpa-12"]').waitFor();
    await page.screenshot({ path: path.join(OUTPUT, 'tasks-view-phone.png') });
    await page.setViewportSize({ width: 1280, height: 860 });
    assert.ok(existsSync(path.join(OUTPUT, 'tasks-view.png')) && existsSync(path.join(OUTPUT, 'task-detail.png')));
  });

  it('deletes it after a confirmation that can be cancelled', async () => {
    await page.goto(`${base}/#/tasks/e2e-hello`);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete task e2e-hello?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await harness.call('GET', '/api/v1/tasks/e2e-hello')).status, 200, 'Escape cancels');

    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/#\/$/);
    await page.locator('tr[data-task-id="tpa-01"]').waitFor();
    await page.locator('tr[data-task-id="e2e-hello"]').waitFor({ state: 'detached' });
    assert.equal((await harness.call('GET', '/api/v1/tasks/e2e-hello')).status, 404);
  });

  it('tests a script in the test pane and shows the result with its logs, and the logs of a failure', async () => {
    await page.goto(`${base}/#/test`);
    await page.getByLabel('Script (CommonJS, exports main)').fill("module.exports.main = (config) => { console.log('logged on success'); return { hello: config.name }; };");
    await page.getByRole('button', { name: 'Run test' }).click();
    const result = page.getByRole('region', { name: 'Run result' });
    await result.getByRole('heading', { name: 'Run succeeded' }).waitFor();
    assert.match(await result.innerText(), /"hello": "test"/);
    assert.match(await result.innerText(), /logged on success/);

    await page.getByLabel('Script (CommonJS, exports main)').fill("module.exports.main = async () => { console.log('about to fail'); throw new Error('boom'); };");
    await page.getByRole('button', { name: 'Run test' }).click();
    await result.getByRole('heading', { name: 'Run failed' }).waitFor();
    assert.match(await result.innerText(), /boom/);
    assert.match(await result.innerText(), /about to fail/);
  });

  it('had no errors in the page', () => {
    assert.deepEqual(problems, []);
  });
});
