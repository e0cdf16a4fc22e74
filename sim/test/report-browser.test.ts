// The `--html` report as a user sees it: written by the real CLI, opened in headless Chromium.
// SHUNT_REPORT_SCREENSHOT=docs/simulator-report.png also saves the picture docs/simulator.md shows.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, launchChromium } from '../../scripts/chromium.js';
import { REPO_ROOT, runScript, tempDir } from './helpers.js';

// CI installs Chromium before the tests (scripts/install-runtimes.sh), so there a missing browser
// is a failure; elsewhere the suite is skipped and says why.
const skip = !existsSync(CHROMIUM_PATH) && process.env['CI'] !== 'true';

describe.skipIf(skip)(`simulator HTML report in headless Chromium${skip ? ` (skipped: ${CHROMIUM_PATH} not installed; apt-get install chromium)` : ''}`, () => {
  const dir = tempDir();
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  // A long limit: the simulator run and Chromium's start share a loaded 2-core machine with the other test files.
  beforeAll(async () => {
    const html = join(dir, 'report.html');
    const run = runScript('cli.ts', ['traces/week.csv', '--html', html]);
    expect(run.stderr).toContain('wrote');
    expect(run.code).toBe(0);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') errors.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    // The page promises to load nothing: any request but the file itself is a finding.
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) errors.push(`request: ${request.url()}`);
    });
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    const screenshot = process.env['SHUNT_REPORT_SCREENSHOT'];
    if (screenshot !== undefined) await page.screenshot({ path: resolve(REPO_ROOT, screenshot), clip: { x: 0, y: 0, width: 1100, height: 900 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('should load without console errors, page errors or requests', () => {
    expect(errors).toEqual([]);
  });

  it('should draw every chart with a non-zero size', async () => {
    const sizes = await page.$$eval('svg', (svgs) => svgs.map((svg) => ({ width: svg.getBoundingClientRect().width, height: svg.getBoundingClientRect().height })));
    // Four strategies, three charts each (5-hour, weekly, events).
    expect(sizes.length).toBe(12);
    for (const size of sizes) {
      expect(size.width).toBeGreaterThan(0);
      expect(size.height).toBeGreaterThan(0);
    }
  });

  it('should draw each utilization chart with a visible line per account', async () => {
    const lines = await page.$$eval('svg', (svgs) => svgs.map((svg) => [...svg.querySelectorAll('polyline')].map((line) => line.getBBox().width)));
    const charts = lines.filter((widths) => widths.length > 0);
    expect(charts.length).toBe(8);
    for (const widths of charts) {
      expect(widths.length).toBe(3);
      for (const width of widths) expect(width).toBeGreaterThan(0);
    }
  });

  it('should give every legend entry its own colour', async () => {
    // A string runs in the page as is (this project has no DOM types): the colour as Chromium paints it.
    const legend = (await page.evaluate(
      "[...document.querySelectorAll('.legend span')].map((span) => ({ label: span.textContent, colour: getComputedStyle(span.querySelector('.swatch')).backgroundColor }))",
    )) as { label: string; colour: string }[];
    expect(legend.map((entry) => entry.label)).toEqual(['alpha', 'bravo', 'charlie', 'held', '429', 'failed']);
    const byColour = new Map<string, string[]>();
    for (const { label, colour } of legend) byColour.set(colour, [...(byColour.get(colour) ?? []), label]);
    expect([...byColour.values()].filter((labels) => labels.length > 1)).toEqual([]);
  });
});
