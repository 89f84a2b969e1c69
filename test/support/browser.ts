import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApp, startServer } from '../../src/app';
import { buildConsole } from '../../tools/build-console';
import { startTestRoster, type TestRoster } from './roster';

/** The flags the browser tests launch Debian's Chromium with (issue #17). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Chromium's path, as `command -v chromium` prints it. Missing Chromium fails the test
 * (CI installs it: .ci/run); it is never a reason to skip.
 */
export function chromiumPath(): string {
  try {
    return execFileSync('bash', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: run `apt-get install -y chromium` (.ci/run does)');
  }
}

export const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'dist', 'screenshots');

export interface ConsoleServer {
  t: TestRoster;
  base: string;
  browser: Browser;
  /** Fails the test on any console error of a page (a CSP violation among them). */
  watch(page: Page): void;
  errors: string[];
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

/** A Roster serving freshly built console pages on a port of its own, and one Chromium. */
export async function startConsoleServer(): Promise<ConsoleServer> {
  const assets = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-console-'));
  await buildConsole(assets);
  const t = await startTestRoster();
  const server: Server = await startServer(createApp(t.roster, pino({ level: 'silent' }), undefined, { consoleAssets: assets }), {
    port: 0,
    host: '127.0.0.1',
    keepAliveTimeoutMs: 5_000,
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const errors: string[] = [];
  return {
    t,
    base,
    browser,
    errors,
    watch(page) {
      page.on('console', (message) => {
        if (message.type() === 'error' && !/status of 40[134]/.test(message.text())) errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));
    },
    async screenshot(page, name) {
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    async close() {
      await browser.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await t.close();
      fs.rmSync(assets, { recursive: true, force: true });
    },
  };
}
