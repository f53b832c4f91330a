/**
 * Benchmark of issue 18's dashboard: how fast the page served on the admin port shows a healthy cluster in a real
 * browser (Debian's chromium through playwright-core), against a floor measured in the same run and the same browser.
 *
 *   (s) `serve --master local` (3 members, healthy): a fresh page navigates to the admin URL (Accept: text/html);
 *       time from navigation start to the moment the members table shows 3 healthy members (the page's first
 *       /members and /stats answers rendered), plus the page's own DOMContentLoaded and the bytes it transferred.
 *   (f) floor: a bare node:http server answering the same HTML bytes with no scheduler behind it (its API calls
 *       answer 404): navigation start → DOMContentLoaded. What the browser needs to parse and run the page itself.
 * Repeats REPEAT times (default 5), alternating (s) and (f); prints each run, the medians and the ratio of the
 * medians (s)/(f). No assertions ("well under a second" is the issue's target: read the figure).
 * Run: node --import tsx bench/dashboard.bench.ts   (needs a current build: dist/, and /usr/bin/chromium or CHROMIUM_BIN)
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {rm} from 'node:fs/promises'
import {DASHBOARD_HEADERS, DASHBOARD_HTML} from '../src/scheduler/dashboard/page.js'
import {browserSkip, openBrowser} from '../test/helpers/browser.js'
import {killAllTracked} from '../test/helpers/procs.js'
import {sweepCluster, waitHealthyMembers} from '../test/helpers/serve.js'
import {startBenchServe} from './bench-serve.js'

const REPEAT = Number(process.env.REPEAT ?? 5)
const CLUSTER = 'bench-dash'
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main(): Promise<void> {
  if (browserSkip) throw new Error(browserSkip)
  const floor = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, DASHBOARD_HEADERS)
      res.end(DASHBOARD_HTML)
    } else {
      res.writeHead(404, {'content-type': 'application/json'})
      res.end('{"error":"floor"}')
    }
  })
  await new Promise<void>((r) => floor.listen(0, '127.0.0.1', r))
  const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}/`
  const {serve, cwd} = await startBenchServe(CLUSTER, undefined, [])
  const browser = await openBrowser()
  try {
    await waitHealthyMembers(serve.adminUrl, 3, 180_000)
    const s: number[] = []
    const sDcl: number[] = []
    const f: number[] = []
    let bytes = 0
    for (let i = 0; i < REPEAT; i++) {
      const page = await browser.ctx.newPage()
      await page.goto(`${serve.adminUrl}/`, {waitUntil: 'commit'})
      await page.waitForFunction(() => document.querySelectorAll('#members tbody tr[data-healthy="true"]').length === 3, null, {
        timeout: 60_000,
      })
      const t = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
        return {shown: performance.now(), dcl: nav.domContentLoadedEventEnd, bytes: nav.transferSize || nav.encodedBodySize}
      })
      await page.close()
      const fp = await browser.ctx.newPage()
      await fp.goto(floorUrl, {waitUntil: 'domcontentloaded'})
      const fl = await fp.evaluate(
        () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domContentLoadedEventEnd,
      )
      await fp.close()
      s.push(t.shown)
      sDcl.push(t.dcl)
      f.push(fl)
      bytes = t.bytes
      console.log(
        `run ${i + 1}: (s) 3 healthy members shown ${t.shown.toFixed(0)} ms (DOMContentLoaded ${t.dcl.toFixed(0)} ms), (f) floor DOMContentLoaded ${fl.toFixed(0)} ms`,
      )
    }
    const ms = median(s)
    const mf = median(f)
    console.log(`page: ${DASHBOARD_HTML.length} bytes of HTML (${bytes} transferred), no other request but the API's`)
    console.log(
      `median: (s) ${ms.toFixed(0)} ms to 3 healthy members (DOMContentLoaded ${median(sDcl).toFixed(0)} ms); (f) ${mf.toFixed(0)} ms; ratio ${(ms / mf).toFixed(1)}x`,
    )
    console.log(
      `BENCH-SUMMARY ${JSON.stringify({row: 'dashboard: navigation → 3 healthy members shown', figure: `${ms.toFixed(0)} ms`, floor: `${mf.toFixed(0)} ms (same HTML, bare server)`, ratio: `${(ms / mf).toFixed(1)}x`, goal: 'well under 1 s'})}`,
    )
  } finally {
    await browser.close()
    floor.close()
    await serve.stop()
    await sweepCluster(CLUSTER)
    killAllTracked()
    await rm(cwd, {recursive: true, force: true})
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
