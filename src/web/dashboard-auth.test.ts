// The dashboard with API tokens, in Chromium: it asks for a token and shows only what the role may do.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startDashboardBrowser, type DashboardBrowser } from '../../test/support/dashboard-browser.js';
import type { Harness } from '../../test/support/director-harness.js';

const TOKENS = { viewer: 'viewer-secret-0123456789', operator: 'operator-secret-0123456789', admin: 'admin-secret-0123456789' };

describe('dashboard with API tokens', () => {
  let browser: DashboardBrowser;
  let harness: Harness;
  let base: string;
  let page: Page;

  const asAdmin = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => {
    const response = await harness.request({
      method,
      url,
      headers: { authorization: `Bearer ${TOKENS.admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };

  const signIn = async (token: string) => {
    const dialog = page.getByRole('dialog', { name: 'Sign in to Director' });
    await dialog.waitFor();
    await dialog.getByLabel('API token').fill(token);
    await dialog.getByRole('button', { name: 'Sign in' }).click();
  };

  before(async () => {
    browser = await startDashboardBrowser({
      env: { DIRECTOR_API_TOKENS: `ann:viewer:${TOKENS.viewer},otto:operator:${TOKENS.operator},ada:admin:${TOKENS.admin}` },
    });
    ({ harness, base, page } = browser);
    harness.assets.setScript('hello.js', "module.exports.main = async () => { console.log('hi'); return { ok: true }; };");
    assert.equal((await asAdmin('POST', '/api/v1/tasks', { id: 'guarded', script: 'hello.js', running: true, interval: 3600000, config: {} })).status, 200);
  });

  after(() => browser?.close());

  it('asks for a token, and says so when one is not accepted', async () => {
    await page.goto(`${base}/`);
    await signIn('not-a-real-token-at-all');
    await page.getByText('The token was not accepted').waitFor();
  });

  it('shows a viewer the tasks without any action, live', async () => {
    await page.getByLabel('API token').fill(TOKENS.viewer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const row = page.locator('tr[data-task-id="guarded"]');
    await row.waitFor();
    await page.getByText('ann · viewer').waitFor();
    assert.equal(await row.getByRole('button').count(), 0, 'no start, stop or run for a viewer');
    assert.equal(await page.getByRole('link', { name: 'New task' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Test a script' }).count(), 0);
    await page.getByText('Live', { exact: true }).waitFor();

    await asAdmin('POST', '/api/v1/tasks', { id: 'added-by-admin', script: 'hello.js', running: false, config: {} });
    await page.locator('tr[data-task-id="added-by-admin"]').waitFor();

    await row.getByRole('link', { name: 'guarded' }).click();
    await page.getByRole('heading', { name: /guarded/ }).waitFor();
    await page.getByRole('heading', { name: 'Run history' }).waitFor();
    await page.getByRole('heading', { name: 'Backfills' }).waitFor();
    for (const name of ['Stop', 'Run now', 'Backfill…', 'Delete']) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
    assert.equal(await page.getByRole('link', { name: 'Edit' }).count(), 0);
  });

  it('lets an operator start, stop, run and backfill, but not create, edit or delete', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(TOKENS.operator);
    await page.getByText('otto · operator').waitFor();
    await page.getByRole('heading', { name: /guarded/ }).waitFor();
    await page.getByRole('button', { name: 'Run now' }).waitFor();
    await page.getByRole('button', { name: 'Backfill…' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Edit' }).count(), 0);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('heading', { name: /guarded/ }).getByText('Stopped').waitFor();
    assert.equal((await asAdmin('GET', '/api/v1/tasks/guarded')).body.running, false);

    await page.getByRole('link', { name: '← All tasks' }).click();
    await page.locator('tr[data-task-id="guarded"]').getByRole('button', { name: 'Start guarded' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'New task' }).count(), 0);
  });

  it('keeps the token across a reload', async () => {
    await page.reload();
    await page.getByText('otto · operator').waitFor();
    assert.equal(await page.getByRole('dialog').count(), 0);
  });
});
