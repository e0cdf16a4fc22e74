/**
 * @module
 * Debian's headless Chromium, driven by playwright-core, for the runtime matrix
 * (scripts/test-runtimes.ts) and the simulator report's browser test (sim/test/report-browser.test.ts).
 * Nothing downloads a browser: `apt-get install chromium` (scripts/install-runtimes.sh does it in CI).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Chromium is: `CHROMIUM_PATH`, or Debian's. */
export const CHROMIUM_PATH: string = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Flags for Chromium as root on a machine whose only network is loopback and the package
 * registries: without the background-networking ones it keeps dialling Google's hosts.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Start headless Chromium; throws, naming the path and the fix, when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} not found: apt-get install chromium, or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
}
