// Backfills in the dashboard, in Debian's Chromium: ask for one, watch it complete and find its runs,
// a range the API refuses, an overlapping one, and the cancel of a long one.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startDashboardBrowser, type DashboardBrowser } from '../../test/support/dashboard-browser.js';
import type { Harness } from '../../test/support/director-harness.js';

const OUTPUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-output');
const MINUTE = 60_000;
const QUICK = `module.exports.main = async (config, context) => {
  console.log('backfilled slot ' + new Date(context.slot).toISOString());
  return { slot: context.slot };
};`;
// Long enough that a cancel finds a run in flight (so the backfill is "cancelling" until it ends).
const SLOW = `module.exports.main = async (config, context) => {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return { slot: context.slot };
};`;

/** A datetime-local value in UTC, as the dialog reads it: 2026-03-01T04:00. */
const utcInput = (ms: number) => new Date(ms).toISOString().slice(0, 16);

interface BackfillJson {
  id: number;
  status: string;
  slots: number;
  counts: Record<string, number> | null;
}

describe('dashboard backfills in Chromium', () => {
  let browser: DashboardBrowser;
  let harness: Harness;
  let base: string;
  let page: Page;
  const problems: string[] = [];
  // Whole minutes, three hours back: every range below is past, and its slots fall on whole minutes.
  const init = Math.floor((Date.now() - 3 * 3_600_000) / MINUTE) * MINUTE;

  const backfillsOf = async (taskId: string): Promise<BackfillJson[]> => (await harness.call('GET', `/api/v1/tasks/${taskId}/backfills`)).body;

  const askInDialog = async (taskId: string, range: { from: number; to: number; concurrency: string }) => {
    await page.getByRole('button', { name: 'Backfill…' }).click();
    const dialog = page.getByRole('dialog', { name: `Backfill ${taskId}` });
    await dialog.waitFor();
    await dialog.getByLabel('From (UTC)').fill(utcInput(range.from));
    await dialog.getByLabel('To (UTC)').fill(utcInput(range.to));
    await dialog.getByLabel('Concurrency').fill(range.concurrency);
    await dialog.getByRole('button', { name: 'Start backfill' }).click();
    return dialog;
  };

  before(async () => {
    browser = await startDashboardBrowser();
    ({ harness, base, page } = browser);
    harness.assets.setScript('quick.js', QUICK);
    harness.assets.setScript('slow.js', SLOW);
    for (const [id, script] of [['bf-minutely', 'quick.js'], ['bf-slow', 'slow.js']]) {
      const created = await harness.call('POST', '/api/v1/tasks', { id, script, running: false, interval: MINUTE, init: new Date(init).toISOString(), config: {} });
      assert.equal(created.status, 200);
    }
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // The 400 and 409 the dialog is tested with are logged by Chromium as failed resources: expected.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console error: ${message.text()}`);
    });
  });

  after(() => browser?.close());

  it('asks for a backfill of five past slots, shows it complete, and its runs in the history', async () => {
    await page.goto(`${base}/#/tasks/bf-minutely`);
    const section = page.getByRole('region', { name: 'Backfills' });
    await section.getByText('No backfills yet.').waitFor();

    const dialog = await askInDialog('bf-minutely', { from: init, to: init + 5 * MINUTE, concurrency: '2' });
    await dialog.waitFor({ state: 'detached' });
    const [backfill] = await backfillsOf('bf-minutely');
    assert.ok(backfill, 'the dialog asked for one');
    assert.equal(backfill.slots, 5);
    const row = section.locator(`tr[data-backfill-id="${backfill.id}"]`);
    await row.waitFor();
    // In UTC, its date and zone said once: "2026-03-01 04:00 → 04:05 UTC".
    const range = (await row.locator('td[data-label="Range"]').innerText()).replace(/\s+/g, ' ').trim();
    assert.match(range, new RegExp(`^${utcInput(init).replace('T', ' ')} → (\\d{4}-\\d{2}-\\d{2} )?${utcInput(init + 5 * MINUTE).slice(11)} UTC$`));
    assert.match(await row.locator('td[data-label="Concurrency"]').innerText(), /^2$/);
    assert.match(await row.innerText(), /by anonymous/);

    // Polled every 2 s while active, until it ends.
    await row.getByText('Completed', { exact: true }).waitFor();
    assert.match(await row.locator('td[data-label="Progress"]').innerText(), /5 of 5 slots done \(100%\)[\s\S]*5 succeeded/);
    assert.equal(await row.locator('progress').getAttribute('value'), '5');
    assert.equal(await row.getByRole('button', { name: /Cancel/ }).count(), 0, 'an ended backfill has no cancel');
    const [ended] = await backfillsOf('bf-minutely');
    assert.equal(ended?.status, 'completed');
    assert.equal(ended?.counts?.succeeded, 5);

    // Its runs, one per slot, say which backfill they belong to.
    const trigger = `backfill #${backfill.id}`;
    const runs = page.locator('table.runs tbody tr[data-run-id]').filter({ has: page.locator('td[data-label="Trigger"]', { hasText: trigger }) });
    for (let i = 0; i < 50 && (await runs.count()) < 5; i++) await page.waitForTimeout(100);
    assert.equal(await runs.count(), 5);
    const { body } = await harness.call('GET', '/api/v1/tasks/bf-minutely/runs');
    const first = (body.runs as Array<{ id: number; trigger: string; backfillId: number | null; slot: number }>).find((r) => r.slot === init);
    assert.ok(first, 'the first slot ran');
    assert.equal(first.trigger, 'backfill');
    assert.equal(first.backfillId, backfill.id);

    // The link of one run opens it, with its trigger and logs.
    await page.goto(`${base}/#/tasks/bf-minutely/runs/${first.id}`);
    const opened = page.locator(`table.runs tr[data-run-id="${first.id}"]`);
    await opened.waitFor();
    assert.equal(await opened.locator('td[data-label="Trigger"]').innerText(), trigger);
    await page.locator('.run-details .logs').getByText(`backfilled slot ${new Date(init).toISOString()}`).waitFor();
  });

  it('opens a backfill run by its link even when it is older than the page of runs shown', async () => {
    // 60 more runs push the first backfill's runs off the first page (50).
    const more = await harness.call('POST', '/api/v1/tasks/bf-minutely/backfills', { from: init + 10 * MINUTE, to: init + 70 * MINUTE, concurrency: 20 });
    assert.equal(more.status, 201);
    for (let i = 0; i < 200 && (await harness.call('GET', `/api/v1/backfills/${more.body.id}`)).body.status !== 'completed'; i++) await page.waitForTimeout(100);
    const { body } = await harness.call('GET', '/api/v1/tasks/bf-minutely/runs?limit=1000');
    const oldest = (body.runs as Array<{ id: number; backfillId: number | null; slot: number }>).find((r) => r.slot === init);
    assert.ok(oldest && oldest.backfillId !== null && oldest.backfillId !== more.body.id);

    await page.goto(`${base}/#/tasks/bf-minutely/runs/${oldest.id}`);
    const opened = page.locator(`.run-details-row[data-run-id="${oldest.id}"]`);
    await opened.getByRole('heading', { name: `Run #${oldest.id}` }).waitFor();
    await opened.locator('.logs').getByText(`backfilled slot ${new Date(init).toISOString()}`).waitFor();
    assert.match(await opened.locator('dl.facts').innerText(), new RegExp(`Trigger\\s+backfill #${oldest.backfillId}\\b`));
    assert.equal(await page.locator(`table.runs tr[data-run-id="${oldest.id}"]`).count(), 0, 'not in the page of runs shown');
  });

  it('shows the API’s 400 on the To field for a range that ends in the future, and stores nothing', async () => {
    await page.goto(`${base}/#/tasks/bf-minutely`);
    await page.getByRole('region', { name: 'Backfills' }).locator('tr[data-backfill-id]').first().waitFor();
    const dialog = await askInDialog('bf-minutely', { from: init, to: Date.now() + 2 * 3_600_000, concurrency: '1' });
    const error = dialog.locator('#backfill-to-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /^to: \S+ is in the future: a backfill covers past slots only/);
    assert.equal(await dialog.getByLabel('To (UTC)').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'backfill-to', 'focus moves to the field in error');

    // A concurrency out of range: the API names that field instead.
    await dialog.getByLabel('To (UTC)').fill(utcInput(init + 10 * MINUTE));
    await dialog.getByLabel('Concurrency').fill('1000');
    await dialog.getByRole('button', { name: 'Start backfill' }).click();
    await dialog.locator('#backfill-concurrency-error').getByText(/^concurrency: must be a whole number from 1 to 100/).waitFor();
    assert.equal(await dialog.locator('#backfill-to-error').count(), 0, 'the earlier error is gone');

    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await backfillsOf('bf-minutely')).length, 2, 'nothing was stored');
  });

  it('refuses an overlapping backfill with the API’s 409, and cancels a long one after a confirmation', async () => {
    await page.goto(`${base}/#/tasks/bf-slow`);
    const section = page.getByRole('region', { name: 'Backfills' });
    await section.getByText('No backfills yet.').waitFor();
    const range = { from: init, to: init + 60 * MINUTE, concurrency: '1' };
    const dialog = await askInDialog('bf-slow', range);
    await dialog.waitFor({ state: 'detached' });
    const [long] = await backfillsOf('bf-slow');
    assert.ok(long);
    assert.equal(long.slots, 60);
    const row = section.locator(`tr[data-backfill-id="${long.id}"]`);
    await row.getByText('Running', { exact: true }).waitFor();

    // The same range again overlaps it: the 409's message is shown above the fields.
    const again = await askInDialog('bf-slow', range);
    await again.locator('#backfill-error').getByText(new RegExp(`^backfill ${long.id} of task "bf-slow" .* overlaps this range`)).waitFor();
    await page.keyboard.press('Escape');
    await again.waitFor({ state: 'detached' });

    // Wait for a slot in flight, so that the cancel has a run to wait for.
    for (let i = 0; i < 100; i++) {
      const [now] = await backfillsOf('bf-slow');
      if ((now?.counts?.running ?? 0) > 0) break;
      await page.waitForTimeout(50);
    }
    const cancelButton = row.getByRole('button', { name: `Cancel backfill ${long.id}` });
    const confirm = page.getByRole('dialog', { name: `Cancel backfill #${long.id}?` });
    await cancelButton.click();
    await confirm.getByRole('button', { name: 'Keep it' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await backfillsOf('bf-slow'))[0]?.status, 'running', 'keeping it changes nothing');

    await cancelButton.click();
    const answered = page.waitForResponse((response) => response.url().endsWith(`/api/v1/backfills/${long.id}/cancel`));
    await confirm.getByRole('button', { name: 'Cancel backfill' }).click();
    const answer = await answered;
    assert.equal(answer.status(), 200);
    assert.equal((await answer.json()).status, 'cancelling', 'a run was in flight');
    await row.getByText('Cancelling', { exact: true }).waitFor();
    await row.getByText('Cancelled', { exact: true }).waitFor();
    assert.match(await row.innerText(), /cancelled by anonymous/);
    assert.equal(await row.getByRole('button').count(), 0);
    const [cancelled] = await backfillsOf('bf-slow');
    assert.equal(cancelled?.status, 'cancelled');
    assert.ok((cancelled?.counts?.pending ?? 0) > 0, 'slots after the cancel never started');
  });

  it('saves screenshots of the backfills section, with one running', async () => {
    mkdirSync(OUTPUT, { recursive: true });
    // A second, later range: running while the screenshot is taken, beside the cancelled one.
    await page.goto(`${base}/#/tasks/bf-slow`);
    const dialog = await askInDialog('bf-slow', { from: init + 60 * MINUTE, to: init + 120 * MINUTE, concurrency: '3' });
    await dialog.waitFor({ state: 'detached' });
    const [running] = await backfillsOf('bf-slow');
    assert.ok(running);
    const row = page.locator(`tr[data-backfill-id="${running.id}"]`);
    await row.getByText(/[1-9]\d* succeeded/).waitFor();
    // A fresh load: no messages left over from the steps before.
    await page.reload();
    await row.getByText('Running', { exact: true }).waitFor();
    await page.locator('.chart svg').waitFor();
    await page.getByRole('heading', { name: 'Backfills' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUTPUT, 'task-backfills.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('heading', { name: 'Backfills' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUTPUT, 'task-backfills-phone.png') });
    await page.setViewportSize({ width: 1280, height: 860 });
    assert.equal((await harness.call('POST', `/api/v1/backfills/${running.id}/cancel`)).status, 200);
    assert.ok(existsSync(path.join(OUTPUT, 'task-backfills.png')));
  });

  it('had no errors in the page', () => {
    assert.deepEqual(problems, []);
  });
});
