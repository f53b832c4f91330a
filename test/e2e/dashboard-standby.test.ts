/**
 * The dashboard of a standby scheduler, in a real browser (test/helpers/browser.ts): two `serve` on one ZooKeeper and
 * a separate local Mesos (3 real etcd members). The standby's page says it is a standby and links to the leader's
 * admin URL; when the leader stops, the same page (not reloaded) shows the cluster the new leader took over, with
 * 3 healthy members, and no console errors throughout. Screenshots in test-output/dashboard/. Needs dist/.
 */
import assert from 'node:assert/strict'
import {mkdirSync} from 'node:fs'
import path from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {browserSkip, openBrowser, text, watchErrors} from '../helpers/browser.js'
import {localMesosServeArgs} from '../helpers/serve-e2e.js'
import {ETCD_BIN, Logs, scenario, serveSuite, startServe, waitHealthyMembers, waitStandby} from '../helpers/serve.js'

const OUT = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url))
const suite = serveSuite()

describe('dashboard of a standby scheduler', {skip: browserSkip, timeout: 600_000}, () => {
  it('says standby and links to the leader; after the leader stops, shows the cluster without a reload', async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      mkdirSync(OUT, {recursive: true})
      const flags = [...(await localMesosServeArgs(suite, logs, 'dashsb')), '--bootstrap-wait', '1', '--etcd-bin', ETCD_BIN]
      const a = await startServe(flags, logs, 'serve A')
      suite.cleanups.push(() => a.stop())
      await waitHealthyMembers(a.adminUrl, 3, 180_000)
      const b = await startServe(flags, logs, 'serve B')
      suite.cleanups.push(() => b.stop())
      await waitStandby(b.adminUrl)
      const browser = await openBrowser()
      suite.cleanups.push(() => browser.close())
      const page = await browser.ctx.newPage()
      const errors = watchErrors(page)
      await page.goto(`${b.adminUrl}/`)
      await page.locator('#standby').waitFor({state: 'visible', timeout: 30_000})
      assert.match(await text(page.locator('#standby')), /This scheduler is a standby/)
      assert.equal(await page.locator('#standby a').getAttribute('href'), `${a.adminUrl}/`, "the link is the leader's admin URL")
      assert.equal(await page.locator('#main').isHidden(), true)
      await page.screenshot({path: path.join(OUT, 'standby-real.png'), fullPage: true})
      await page.evaluate(() => {
        ;(window as unknown as {loadedOnce: number}).loadedOnce = 1
      })

      await a.stop()
      await page.locator('#standby').waitFor({state: 'hidden', timeout: 120_000})
      await page.waitForFunction(() => document.querySelectorAll('#members tbody tr[data-healthy="true"]').length === 3, null, {
        timeout: 120_000,
        polling: 500,
      })
      assert.match(await text(page.locator('#health')), /HEALTHY/)
      assert.equal(await page.evaluate(() => (window as unknown as {loadedOnce?: number}).loadedOnce), 1, 'the page was not reloaded')
      await page.screenshot({path: path.join(OUT, 'took-over.png'), fullPage: true})
      assert.deepEqual(errors, [], 'no console errors')
    })
  })
})
