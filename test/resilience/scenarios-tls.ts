/**
 * Certificate rotation scenario (issue 16): the cluster runs https with client-certificate auth, its member files
 * made by openssl in the scenario's work dir and shipped by serve. The inject replaces the CA in the three safe
 * rollouts (files replaced in place, `POST /rollout` each time): a bundle of the old and the new CA, then the new CA's
 * certificates, then the new CA alone. The writer, checker and observer reach the members with the application's
 * client certificate (undici's global dispatcher: the CA bundle, and the old CA's client certificate until the
 * members present the new certificates, the new CA's after; the checker's etcdctl the same through ETCDCTL_CACERT/CERT/KEY). Recovered = the third rollout done; nine relaunches.
 */
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher} from 'undici'
import {makeCa, makeCert, pem} from '../helpers/certs.js'
import type {Ctx, ScenarioDef} from './harness.js'
import {waitUntil} from './harness.js'

interface Rotation {
  live: string
  dir: string
  bundle: string
  before: Dispatcher
  agent: Agent
  lastOp?: string
}
const rotations = new WeakMap<Ctx, Rotation>()

const ETCDCTL_TLS = ['ETCDCTL_CACERT', 'ETCDCTL_CERT', 'ETCDCTL_KEY'] as const

/** The application's client files for fetch (undici's global dispatcher) and for the checker's etcdctl (its env). */
function useClient(r: Rotation, name: 'appOld' | 'appNew'): void {
  const old = r.agent
  const file = (f: string) => path.join(r.dir, f)
  r.agent = new Agent({connect: {ca: r.bundle, cert: readFileSync(file(`${name}.crt`)), key: readFileSync(file(`${name}.key`))}})
  setGlobalDispatcher(r.agent)
  void old.close().catch(() => undefined)
  writeFileSync(file('bundle.crt'), r.bundle)
  process.env.ETCDCTL_CACERT = file('bundle.crt')
  process.env.ETCDCTL_CERT = file(`${name}.crt`)
  process.env.ETCDCTL_KEY = file(`${name}.key`)
}

function replace(dest: string, content: string): void {
  writeFileSync(`${dest}.new`, content)
  renameSync(`${dest}.new`, dest)
}

/** POST /rollout until accepted (a just-finished rollout leaves the cluster "not checked since its last change" briefly). */
async function startRollout(ctx: Ctx, step: string): Promise<string> {
  return waitUntil(
    `POST /rollout accepted (${step})`,
    async () => {
      const res = await fetch(`${ctx.adminUrl}/rollout`, {method: 'POST', signal: AbortSignal.timeout(10_000)}).catch(() => null)
      if (!res) return null
      const body = (await res.json().catch(() => ({}))) as {op?: string; error?: string}
      if (res.status === 202 && body.op) return body.op
      if (body.error && /certificate rotation refused|not readable/.test(body.error)) throw new Error(body.error)
      return null
    },
    120_000,
    1000,
  )
}

async function rolloutDone(ctx: Ctx, op: string, step: string): Promise<void> {
  const st = await waitUntil(
    `the rollout (${step}) to end`,
    async () => {
      const s = await ctx.stats().catch(() => null)
      return s?.rollout && s.rollout.op === op && s.rollout.state !== 'running' ? s.rollout : null
    },
    300_000,
    1000,
  )
  if (st.state !== 'done') throw new Error(`the rollout (${step}) ended ${st.state}: ${st.message}`)
  ctx.note(`${step}: rollout ${op} done`)
}

export const TLS_SCENARIOS: ScenarioDef[] = [
  {
    name: 'cert-rotation',
    description:
      'https members with client-certificate auth; the CA replaced in three rolling relaunches (a bundle of both CAs, the new certificates, the new CA alone), files shipped by serve, under writes with an application client certificate',
    expect: {reseed: false, livelocks: 'none', launched: 9},
    recovered: (ctx, st) => {
      const r = rotations.get(ctx)
      return !!r?.lastOp && st.rollout?.op === r.lastOp && st.rollout.state === 'done'
    },
    recoveryTimeoutMs: 400_000,
    async serveArgsFor(ctx) {
      const dir = path.join(ctx.workDir, 'certs')
      const live = path.join(dir, 'live')
      mkdirSync(live, {recursive: true})
      for (const ca of ['caOld', 'caNew']) makeCa(dir, ca)
      makeCert(dir, 'memberOld', 'caOld')
      makeCert(dir, 'memberNew', 'caNew')
      makeCert(dir, 'appOld', 'caOld')
      makeCert(dir, 'appNew', 'caNew')
      writeFileSync(path.join(live, 'member.crt'), readFileSync(path.join(dir, 'memberOld.crt')))
      writeFileSync(path.join(live, 'member.key'), readFileSync(path.join(dir, 'memberOld.key')))
      writeFileSync(path.join(live, 'ca.crt'), readFileSync(path.join(dir, 'caOld.crt')))
      const r: Rotation = {
        live,
        dir,
        bundle: pem(path.join(dir, 'caOld.crt'), path.join(dir, 'caNew.crt')),
        before: getGlobalDispatcher(),
        agent: new Agent(),
      }
      rotations.set(ctx, r)
      useClient(r, 'appOld')
      return [
        ...['--etcd-cert-file', path.join(live, 'member.crt'), '--etcd-key-file', path.join(live, 'member.key')],
        ...['--etcd-trusted-ca-file', path.join(live, 'ca.crt')],
      ]
    },
    async inject(ctx) {
      const r = rotations.get(ctx)!
      const text = (f: string) => readFileSync(path.join(r.dir, f), 'utf8')
      ctx.killedTasks = 9
      replace(path.join(r.live, 'ca.crt'), r.bundle)
      await rolloutDone(ctx, await startRollout(ctx, '1. CA bundle'), '1. CA bundle')
      replace(path.join(r.live, 'member.key'), text('memberNew.key'))
      replace(path.join(r.live, 'member.crt'), text('memberNew.crt'))
      await rolloutDone(ctx, await startRollout(ctx, '2. new certificates'), '2. new certificates')
      useClient(r, 'appNew')
      replace(path.join(r.live, 'ca.crt'), text('caNew.crt'))
      r.lastOp = await startRollout(ctx, '3. new CA alone')
      ctx.note('3. new CA alone: rollout started; the application now uses the new CA’s client certificate')
    },
    async cleanup(ctx) {
      const r = rotations.get(ctx)
      if (!r) return
      setGlobalDispatcher(r.before)
      for (const k of ETCDCTL_TLS) delete process.env[k]
      await r.agent.close().catch(() => undefined)
    },
  },
]
