/**
 * Debian's Chromium driven by playwright-core (no browser download: scripts/install-test-tools.sh
 * installs the `chromium` package). Each launch gets a fresh profile directory, removed when the test file ends.
 */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { missingTool } from '../../harness/tools.js';
import { makeTempDir } from '../helper.js';

export const chromiumPath = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function missingBrowser(): string | null {
  return existsSync(chromiumPath) ? null : missingTool('chromium', `no ${chromiumPath}`);
}

const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(): Promise<BrowserContext> {
  // A persistent context is how playwright takes a --user-data-dir; a new temp dir keeps it fresh.
  const profile = await makeTempDir('aggregator-chromium-');
  return chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
    viewport: { width: 1400, height: 1000 },
    timeout: 30_000,
  });
}

/**
 * What went wrong in the page: its uncaught errors and console errors, except the failed resources
 * a test provokes on purpose (401 before a token is pasted, 400 for a refused query).
 */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[01]/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return problems;
}
