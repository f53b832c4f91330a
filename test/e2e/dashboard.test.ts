/**
 * The dashboard (GET / for browsers; src/scheduler/dashboard/) in a real browser: Debian's chromium driven headless by
 * playwright-core (nothing downloaded), with a fresh user-data dir per run.
 *   - a standby scheduler's page (the admin handler with standby deps): says it is a standby and links to the leader;
 *   - against a real `serve --master local` (3 real etcd members, an admin token, no automatic re-seed):
 *     the page loads with no console errors and shows 3 healthy members (and fits a phone's width);
 *     a member's etcd is SIGKILLed: the page shows the failed task and the replacement, without a reload;
 *     a re-seed from the page without the token is refused (HTTP 401); the token typed once, "Back up now" takes a
 *     backup (file:// target) the page lists; two members lost with their data, a re-seed from the page with the
 *     token runs to completion and the page shows 3 healthy members again.
 * Screenshots go to test-output/dashboard/ (gitignored) for a person to look at; with UPDATE_DOCS_SCREENSHOT=1 the
 * healthy page is also copied to docs/dashboard.png (the README's picture).
 * Skips with a message when /usr/bin/chromium (or CHROMIUM_BIN) is absent; CI installs it (setup.sh).
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Page} from 'playwright-core'
import {buildAdminHandler} from '../../src/scheduler/admin.js'
import {adminDeps} from '../helpers/admin-harness.js'
import {killEtcd, killEtcdAndData, members, type ServeProc} from '../helpers/serve.js'
import {startLocalServe, withLogOf} from '../helpers/serve-e2e.js'
import {browserSkip, openBrowser, type TestBrowser, text, watchErrors} from '../helpers/browser.js'

const OUT = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url))
const DOCS_PNG = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
const TOKEN = 'dashboard-token-5c1e'
const skip = browserSkip

const shot = (page: Page, name: string) => page.screenshot({path: path.join(OUT, name), fullPage: true})

describe('dashboard in a browser', {skip, timeout: 900_000}, () => {
  let browser: TestBrowser
  before(async () => {
    mkdirSync(OUT, {recursive: true})
    browser = await openBrowser()
  })
  after(async () => {
    await browser?.close()
  })

  it("a standby scheduler's page says it is a standby and links to the leader", async () => {
    const leader = 'http://leader.example:8181/'
    const srv = http.createServer(
      buildAdminHandler(
        adminDeps({
          failoverStatus: () => ({
            framework_id: null,
            subscribed: false,
            mode: 'STANDBY',
            scheduler: {id: 'b', leader: {id: 'a', admin_url: leader}, standbys: []},
          }),
        }),
      ),
    )
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
    const page = await browser.ctx.newPage()
    const errors = watchErrors(page)
    try {
      await page.goto(`http://127.0.0.1:${(srv.address() as {port: number}).port}/`)
      const notice = page.locator('#standby')
      await notice.waitFor({state: 'visible', timeout: 30_000})
      assert.match(await text(notice), /This scheduler is a standby/)
      assert.equal(await page.locator('#standby a').getAttribute('href'), leader)
      assert.equal(await page.locator('#main').isHidden(), true, 'no cluster view on a standby')
      await shot(page, 'standby.png')
      assert.deepEqual(errors, [])
    } finally {
      await page.close()
      // chromium keeps (pre)connected sockets open: closing only idle ones would wait for the headers timeout (~100 s)
      srv.closeAllConnections()
      await new Promise<void>((r) => srv.close(() => r()))
    }
  })

  describe('against serve --master local', () => {
    let dir: string
    let serve: ServeProc
    let page: Page
    let errors: string[]
    const healthyRows = () => page.locator('#members tbody tr[data-healthy="true"]')

    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-dashboard-'))
      writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`)
      mkdirSync(path.join(dir, 'backups'))
      serve = await startLocalServe({
        cluster: 'dash',
        size: 3,
        bootstrapWait: 3,
        args: [
          ...['--admin-token-file', path.join(dir, 'token'), '--no-auto-reseed', '--member-grace', '5'],
          ...['--reseed-timeout', '30', '--reseed-backups-keep', '1'],
          ...['--backup-target', `file://${path.join(dir, 'backups')}`, '--backup-interval', '0'],
        ],
      })
      page = await browser.ctx.newPage()
      errors = watchErrors(page)
    })
    after(async () => {
      await page?.close().catch(() => undefined)
      await serve?.stop()
      if (dir) rmSync(dir, {recursive: true, force: true})
    })

    it('loads with no console errors and shows 3 healthy members', async () => {
      await page.goto(`${serve.adminUrl}/`)
      assert.match(await page.title(), /etcd-mesos/)
      await page.waitForFunction(() => document.querySelectorAll('#members tbody tr[data-healthy="true"]').length === 3, null, {
        timeout: 60_000,
      })
      assert.match(await text(page.locator('#health')), /HEALTHY/)
      assert.equal(await healthyRows().count(), 3)
      assert.equal(await page.locator('#members tbody tr', {hasText: '★ leader'}).count(), 1, 'one leader, marked in words')
      // the charts fill from /stats/history; the counters from /stats
      await page.locator('#charts figure[data-chart="running_servers"] polyline').waitFor({timeout: 30_000})
      assert.equal(await text(page.locator('#c-running_servers')), '3')
      // accessible markup: a heading per section, labelled controls, buttons named by their text
      for (const h of ['Members', 'Counters', 'Operations', 'Backups', 'Events'])
        assert.equal(await page.getByRole('heading', {name: h, exact: true}).count(), 1, `heading ${h}`)
      assert.equal(await page.getByRole('button', {name: 'Re-seed…'}).count(), 1)
      assert.equal(await page.getByRole('checkbox', {name: /force/}).count(), 1)
      assert.equal(await page.getByRole('table').first().locator('caption').count(), 1)
      // the token field is reachable by its label
      assert.equal(await page.getByLabel('Admin token').getAttribute('type'), 'password')
      await shot(page, 'healthy.png')
      if (process.env.UPDATE_DOCS_SCREENSHOT) {
        await page.screenshot({path: path.join(OUT, 'docs.png'), clip: {x: 0, y: 0, width: 1280, height: 760}})
        copyFileSync(path.join(OUT, 'docs.png'), DOCS_PNG)
      }
      // phone width: nothing wider than the screen but the tables' own scrolling boxes
      await page.setViewportSize({width: 375, height: 800})
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 375px`)
      await shot(page, 'phone.png')
      await page.setViewportSize({width: 1280, height: 900})
      assert.deepEqual(errors, [], 'no console errors')
    })

    it("a member's etcd killed: the page shows the failure and the replacement without a reload", async () => {
      await page.evaluate(() => {
        ;(window as unknown as {loadedOnce: number}).loadedOnce = 1
      })
      const before = await members(serve.adminUrl)
      const victim = before.find((m) => !m.leader)!
      await killEtcd(victim.name)
      await page
        .waitForFunction(
          (name) => {
            const rows = [...document.querySelectorAll('#members tbody tr[data-member]')]
            return (
              Number(document.getElementById('c-failed_servers')?.textContent) >= 1 &&
              rows.length === 3 &&
              rows.every((r) => r.getAttribute('data-healthy') === 'true' && r.getAttribute('data-member') !== name)
            )
          },
          victim.name,
          {timeout: 120_000, polling: 500},
        )
        .catch(withLogOf(serve))
      const names = await page.locator('#members tbody tr[data-member]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-member')))
      const replacement = names.find((n) => !before.some((b) => b.name === n))
      assert.ok(replacement, `a new member is listed: ${names.join(', ')}`)
      // the event log (or, without one, the changes the page saw) names the victim's end
      const said = await page.locator('#events li', {hasText: victim.name}).allTextContents()
      assert.ok(
        said.some((t) => /TASK_FAILED|TASK_KILLED|TASK_LOST|TASK_ERROR|gone|removed/.test(t)),
        `the events show ${victim.name}'s failure: ${said.join(' | ')}`,
      )
      assert.equal(await page.evaluate(() => (window as unknown as {loadedOnce?: number}).loadedOnce), 1, 'the page was not reloaded')
      await shot(page, 'replaced.png')
      assert.deepEqual(errors, [], 'no console errors')
    })

    it('a re-seed from the page without the token is refused', async () => {
      page.once('dialog', (d) => void d.accept())
      await page.locator('#act-reseed').click()
      const li = page.locator('#oplog li[data-action="reseed"]').first()
      await li.and(page.locator('[data-status]')).waitFor({timeout: 30_000})
      assert.equal(await li.getAttribute('data-http'), '401')
      assert.equal(await li.getAttribute('data-status'), 'refused')
      assert.match(await text(li), /refused \(HTTP 401\).*admin token/)
      assert.equal(await li.getAttribute('role'), 'alert')
      // the only console error: the browser's own note about the 401
      assert.ok(
        errors.every((e) => /401/.test(e)),
        errors.join('\n'),
      )
      errors.length = 0
    })

    it('with the token typed once, "Back up now" takes a backup the page then lists', async () => {
      await page.getByLabel('Admin token').fill(TOKEN)
      await page.getByRole('button', {name: 'Use token'}).click()
      assert.match(await text(page.locator('#token-state')), /token is set/)
      assert.equal(await page.getByLabel('Admin token').inputValue(), '', 'the token is not shown back')
      assert.equal(await page.evaluate(() => sessionStorage.length), 1, "kept in the tab's session storage")
      page.once('dialog', (d) => void d.accept())
      await page.getByRole('button', {name: 'Back up now'}).click()
      const li = page.locator('#oplog li[data-action="backup"]').first()
      await li
        .and(page.locator('[data-status="succeeded"], [data-status="failed"], [data-status="refused"]'))
        .waitFor({timeout: 120_000})
        .catch(withLogOf(serve))
      assert.equal(await li.getAttribute('data-status'), 'succeeded', await text(li))
      await page.locator('#backups tbody tr').first().waitFor({timeout: 60_000})
      assert.match(await text(page.locator('#backup-summary')), /Last backup/)
      assert.deepEqual(errors, [], 'no console errors')
    })

    it('two members lost with their data: a re-seed from the page with the token runs to completion', async () => {
      const ms = await members(serve.adminUrl)
      for (const v of ms.filter((m) => !m.leader).slice(0, 2)) await killEtcdAndData(v.name)
      await page.locator('#health', {hasText: 'UNHEALTHY'}).waitFor({timeout: 90_000}).catch(withLogOf(serve))
      await shot(page, 'unhealthy.png')
      const messages: string[] = []
      page.once('dialog', (d) => {
        messages.push(d.message())
        void d.accept()
      })
      await page.locator('#act-reseed').click()
      assert.match(messages[0] ?? '', /Re-seed the cluster\?/, 'asked for confirmation')
      const li = page.locator('#oplog li[data-action="reseed"]').first()
      await li.and(page.locator('[data-status="running"], [data-status="succeeded"]')).waitFor({timeout: 30_000})
      assert.equal(await li.getAttribute('data-http'), '202')
      await shot(page, 'reseeding.png')
      await li.and(page.locator('[data-status="succeeded"], [data-status="failed"]')).waitFor({timeout: 240_000}).catch(withLogOf(serve))
      assert.equal(await li.getAttribute('data-status'), 'succeeded', await text(li))
      assert.match(await text(li), /✓ Re-seed \w+: succeeded/)
      await page.waitForFunction(() => document.querySelectorAll('#members tbody tr[data-healthy="true"]').length === 3, null, {
        timeout: 180_000,
        polling: 500,
      })
      assert.match(await text(page.locator('#health')), /HEALTHY/)
      assert.equal(await text(page.locator('#c-cluster_reseeds')), '1')
      await shot(page, 'reseeded.png')
      assert.deepEqual(errors, [], 'no console errors')
    })
  })
})
