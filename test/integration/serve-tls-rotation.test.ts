/**
 * Certificate rotation (issue 16) on real etcd, real ZooKeeper and the local Mesos: serve ships the member TLS files
 * it is given (--etcd-cert-file, --etcd-key-file, --etcd-trusted-ca-file) to every member's sandbox; the files are
 * replaced in place and `POST /rollout` rolls the members to them, one at a time, while a client with its own
 * certificate writes throughout. The old CA is replaced by a new one in the three safe steps: a CA bundle of both,
 * then certificates of the new CA, then the new CA alone. Checked: each rollout is done; the etcd processes run with
 * the files in their sandbox (`<sandbox>/tls/*.pem`) holding the new content; the members present certificates of
 * the new CA after step 2; the old CA's client certificate works during the overlap and is refused at the end, the
 * new CA's works from step 1 on; no acknowledged write is lost. Longest gap between acknowledged writes is reported.
 * Run: node --import tsx --test --test-timeout=900000 test/integration/serve-tls-rotation.test.ts   (needs dist/).
 */
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import {describe, it} from 'node:test'
import {makeCa, makeCert, pem} from '../helpers/certs.js'
import {Logs, getJson, pids, readCmdline, scenario, serveSuite, startServe, until, waitHealthyMembers} from '../helpers/serve.js'
import {localMesosServeArgs} from '../helpers/serve-e2e.js'

const suite = serveSuite()
const cleanups = suite.cleanups

interface ClientFiles {
  ca: string
  cert: string
  key: string
}

/** One etcd JSON-gateway call over https with a client certificate. */
function call(url: string, p: string, body: object, c: ClientFiles, timeoutMs = 2000): Promise<{status: number; json: any}> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(p, url), {method: 'POST', ca: c.ca, cert: c.cert, key: c.key, timeout: timeoutMs}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => {
        try {
          resolve({status: res.statusCode ?? 0, json: JSON.parse(text)})
        } catch {
          resolve({status: res.statusCode ?? 0, json: null})
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}
const b64 = (s: string): string => Buffer.from(s).toString('base64')

/** A put through `url` with the client files `c`: true when acknowledged. */
async function putWith(url: string, c: ClientFiles, key: string, value: string): Promise<boolean> {
  try {
    const r = await call(url, '/v3/kv/put', {key: b64(key), value: b64(value)}, c)
    return r.status === 200 && Number(r.json?.header?.revision) > 0
  } catch {
    return false
  }
}

/** Writes a key every ~50 ms through the members in turn with the current client files; records acknowledged ones. */
function tlsWriter(urls: string[], files: () => ClientFiles) {
  const acked = new Map<string, string>()
  let running = true
  let failures = 0
  let lastAck = Date.now()
  let longestGapMs = 0
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const key = `rot/${String(i).padStart(6, '0')}`
      const ok = await putWith(urls[i % urls.length]!, files(), key, `v${i}`)
      if (ok) {
        longestGapMs = Math.max(longestGapMs, Date.now() - lastAck)
        lastAck = Date.now()
        acked.set(key, `v${i}`)
      } else failures++
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  return {
    acked,
    stop: async () => {
      running = false
      await loop
      return {acked: acked.size, failures, longestGapMs: Math.max(longestGapMs, Date.now() - lastAck)}
    },
  }
}

/** The certificate a member presents on its client port: its issuer's CN. */
function presentedIssuer(url: string, c: ClientFiles): Promise<string> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const s = tls.connect({host: u.hostname, port: Number(u.port), ca: c.ca, cert: c.cert, key: c.key, servername: 'localhost'}, () => {
      const cn = s.getPeerCertificate().issuer.CN
      s.end()
      resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''))
    })
    s.on('error', reject)
  })
}

/** The files each running etcd of `cluster` was started with (its --cert-file/--key-file/--trusted-ca-file). */
function etcdTlsArgs(cluster: string): {name: string; cert: string; ca: string}[] {
  const out: {name: string; cert: string; ca: string}[] = []
  for (const pid of pids()) {
    const argv = readCmdline(pid)
    const name = argv.find((a) => a.startsWith(`--name=${cluster}-`))
    if (!name || path.basename(argv[0] ?? '') !== 'etcd') continue
    const arg = (f: string) => argv.find((a) => a.startsWith(`--${f}=`))?.slice(f.length + 3) ?? ''
    out.push({name: name.slice(7), cert: arg('cert-file'), ca: arg('trusted-ca-file')})
  }
  return out
}

/** Replaces `dest` with `src` atomically (what an operator's deployment tool does). */
function replace(dest: string, content: string): void {
  writeFileSync(`${dest}.new`, content)
  renameSync(`${dest}.new`, dest)
}

describe('serve: certificate rotation by rolling the members to new files', {timeout: 900_000}, () => {
  it('replaces the CA in three rollouts under writes; old client certificates work during the overlap', {timeout: 840_000}, async () => {
    const logs = new Logs()
    await scenario(logs, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'it-tls-rotation-'))
      cleanups.push(async () => rmSync(dir, {recursive: true, force: true}))
      // Lifetimes differ (days) so that /metrics shows which certificate the members run.
      makeCa(dir, 'caOld')
      makeCa(dir, 'caNew', 3)
      makeCert(dir, 'memberOld', 'caOld')
      makeCert(dir, 'memberNew', 'caNew', 2)
      makeCert(dir, 'appOld', 'caOld')
      makeCert(dir, 'appNew', 'caNew')
      const file = (n: string) => path.join(dir, n)
      const text = (n: string) => readFileSync(file(n), 'utf8')
      const live = path.join(dir, 'live')
      mkdirSync(live)
      copyFileSync(file('memberOld.crt'), path.join(live, 'member.crt'))
      copyFileSync(file('memberOld.key'), path.join(live, 'member.key'))
      copyFileSync(file('caOld.crt'), path.join(live, 'ca.crt'))
      const bundle = pem(file('caOld.crt'), file('caNew.crt'))
      const notAfter = (n: string) => Math.floor(Date.parse(new X509Certificate(readFileSync(file(n))).validTo) / 1000)
      /** etcd_mesos_certificate_expiry_timestamp_seconds of /metrics by certificate label. */
      const expiry = async (): Promise<Record<string, number>> => {
        const text = await (await fetch(`${serve.adminUrl}/metrics`, {signal: AbortSignal.timeout(10_000)})).text()
        const out: Record<string, number> = {}
        for (const m of text.matchAll(/^etcd_mesos_certificate_expiry_timestamp_seconds\{[^}]*certificate="(\w+)"\} (\d+)$/gm))
          out[m[1]!] = Number(m[2])
        return out
      }
      // The application's clients trust both CAs (the client side of the overlap) and present their own certificate.
      const appOld: ClientFiles = {ca: bundle, cert: text('appOld.crt'), key: text('appOld.key')}
      const appNew: ClientFiles = {ca: bundle, cert: text('appNew.crt'), key: text('appNew.key')}

      const cluster = `rot${process.pid % 10000}`
      const base = await localMesosServeArgs(suite, logs, cluster)
      const tlsArgs = ['--etcd-cert-file', path.join(live, 'member.crt'), '--etcd-key-file', path.join(live, 'member.key')]
      const serve = await startServe([...base, ...tlsArgs, '--etcd-trusted-ca-file', path.join(live, 'ca.crt')], logs, 'serve')
      cleanups.push(() => serve.stop())
      const ms = await waitHealthyMembers(serve.adminUrl, 3, 240_000)
      const urls = ms.map((m) => m.client_url)
      assert.ok(urls.every((u) => u.startsWith('https://')))
      assert.equal(await putWith(urls[0]!, appOld, 'probe', 'x'), true, 'the old CA’s client certificate works at the start')
      assert.equal(await putWith(urls[0]!, appNew, 'probe', 'x'), false, 'the new CA’s is refused at the start')
      // No --etcd-peer-* files: no peer sample.
      assert.deepEqual(await expiry(), {client: notAfter('memberOld.crt'), client_ca: notAfter('caOld.crt')})
      let current = appOld
      const writer = tlsWriter(urls, () => current)
      cleanups.push(async () => void (await writer.stop()))
      await until('some writes acknowledged', async () => (writer.acked.size >= 20 ? true : undefined), 60_000, 100)

      const rolloutTo = async (step: string): Promise<void> => {
        const op = await until(
          `POST /rollout accepted (${step})`,
          async () => {
            const r = await getJson<{op?: string; error?: string}>(`${serve.adminUrl}/rollout`, {method: 'POST'}).catch(() => null)
            if (r?.status === 202) return r.body.op
            if (r?.body?.error && /certificate rotation refused|not readable/.test(r.body.error)) throw new Error(r.body.error)
            return undefined
          },
          120_000,
          1000,
        )
        const end = await until(
          `the rollout (${step}) to end`,
          async () => {
            const r = await getJson<{rollout: {op: string; state: string; message: string; members: {done: string[]}} | null}>(
              `${serve.adminUrl}/rollout`,
            ).catch(() => null)
            const ro = r?.body?.rollout
            return ro && ro.op === op && ro.state !== 'running' ? ro : undefined
          },
          400_000,
          1000,
        )
        assert.equal(end!.state, 'done', `${step}: ${end!.message}`)
        assert.equal(end!.members.done.length, 3, step)
        const args = etcdTlsArgs(cluster)
        assert.equal(args.length, 3, JSON.stringify(args))
        for (const a of args) {
          assert.match(a.cert, /\/tls\/clientCertFile\.pem$/, `${a.name} runs with the shipped certificate in its sandbox`)
          assert.equal(readFileSync(a.cert, 'utf8'), readFileSync(path.join(live, 'member.crt'), 'utf8'), `${a.name}: ${step}`)
          assert.equal(readFileSync(a.ca, 'utf8'), readFileSync(path.join(live, 'ca.crt'), 'utf8'), `${a.name}: ${step}`)
        }
      }

      // 1. trust both CAs
      replace(path.join(live, 'ca.crt'), bundle)
      await rolloutTo('CA bundle')
      for (const u of urls) {
        assert.equal(await putWith(u, appOld, 'probe', 'x'), true, `old client certificate during the overlap (${u})`)
        assert.equal(await putWith(u, appNew, 'probe', 'x'), true, `new client certificate during the overlap (${u})`)
      }
      assert.equal((await expiry()).client_ca, notAfter('caOld.crt'), 'a bundle expires with its first certificate')
      // 2. the new CA's certificates
      replace(path.join(live, 'member.key'), text('memberNew.key'))
      replace(path.join(live, 'member.crt'), text('memberNew.crt'))
      await rolloutTo('new certificates')
      for (const u of urls) {
        assert.equal(await presentedIssuer(u, appNew), 'caNew', `${u} presents a certificate of the new CA`)
        assert.equal(await putWith(u, appOld, 'probe', 'x'), true, `old client certificate still works (${u})`)
      }
      current = appNew
      assert.equal((await expiry()).client, notAfter('memberNew.crt'), 'the members run the new certificate')
      // 3. the new CA alone
      replace(path.join(live, 'ca.crt'), text('caNew.crt'))
      await rolloutTo('new CA alone')
      for (const u of urls) {
        assert.equal(await putWith(u, appNew, 'probe', 'x'), true, `new client certificate after the rotation (${u})`)
        assert.equal(await putWith(u, appOld, 'probe', 'x'), false, `old client certificate refused after the rotation (${u})`)
      }
      assert.equal((await expiry()).client_ca, notAfter('caNew.crt'))

      const report = await writer.stop()
      const stored = new Map<string, string>()
      const r = await call(urls[0]!, '/v3/kv/range', {key: b64('rot/'), range_end: b64('rot0')}, appNew, 10_000)
      for (const kv of (r.json?.kvs ?? []) as {key: string; value: string}[])
        stored.set(Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value ?? '', 'base64').toString())
      const lost = [...writer.acked].filter(([k, v]) => stored.get(k) !== v)
      const summary =
        `certificate rotation (3 rollouts × 3 members): ${report.acked} writes acknowledged, ${report.failures} failed ` +
        `(unacknowledged), ${lost.length} lost; longest gap between acknowledged writes ${report.longestGapMs} ms`
      console.log(summary)
      logs.add('summary', () => summary)
      assert.equal(
        lost.length,
        0,
        `lost: ${lost
          .slice(0, 5)
          .map(([k]) => k)
          .join(', ')}`,
      )
    })
  })
})
