// A listening Director with its dashboard freshly built, and a page of Debian's headless Chromium to drive it.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.mjs';
import { startHarness, type Harness, type HarnessOptions } from './director-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface DashboardBrowser {
  readonly harness: Harness;
  /** http://127.0.0.1:<port>: pages are at `${base}/`. */
  readonly base: string;
  /** Not navigated yet: a test can add listeners before the first request. */
  readonly page: Page;
  close(): Promise<void>;
}

/** `options` go to the harness, which always listens here: Chromium needs a real port. */
export async function startDashboardBrowser(options: HarnessOptions = {}): Promise<DashboardBrowser> {
  assert.ok(existsSync(CHROMIUM), `these tests drive ${CHROMIUM}: install it with apt-get install -y chromium`);
  await buildWeb();
  const harness = await startHarness({ ...options, listen: true });
  const address = harness.director.app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const profile = mkdtempSync(path.join(tmpdir(), 'director-chromium-'));
  let context: BrowserContext | undefined;
  const close = async () => {
    // The browser goes first: its open event stream would otherwise hold up Director's shutdown.
    await context?.close();
    await harness.close();
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 860 } });
    const page = context.pages()[0] ?? (await context.newPage());
    return { harness, base, page, close };
  } catch (error) {
    await close();
    throw error;
  }
}
