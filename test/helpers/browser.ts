/**
 * Debian's chromium driven headless by playwright-core (nothing downloaded) for the dashboard's browser tests:
 * a persistent context on a fresh user-data dir (removed on close), and a page's console errors collected.
 * `browserSkip` is false when the browser is there, else the reason to skip (CI installs it: setup.sh).
 */
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {type BrowserContext, chromium, type Locator, type Page} from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'
export const browserSkip: false | string = existsSync(CHROMIUM)
  ? false
  : `no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN)`

export interface TestBrowser {
  ctx: BrowserContext
  close(): Promise<void>
}

export async function openBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'dashboard-chromium-'))
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: {width: 1280, height: 900},
    args: [
      ...['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
      ...['--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ],
    timeout: 60_000,
  })
  return {
    ctx,
    close: async () => {
      await ctx.close().catch(() => undefined)
      rmSync(profile, {recursive: true, force: true})
    },
  }
}

/** Console errors and uncaught exceptions of a page, as they come. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  return errors
}

/** An element's text (textContent; '' when none). */
export const text = async (l: Locator): Promise<string> => (await l.textContent()) ?? ''
