/**
 * Disk-space scenario (issue 17): the members run with a 16 MiB backend quota (--etcd-quota-backend-bytes); the inject
 * overwrites a few keys with 256 KiB values through the leader until etcd raises NOSPACE and refuses a write
 * ("database space exceeded") — the writer's puts are refused too from then on. The scheduler alone compacts,
 * defragments every member and disarms the alarm; recovered = /stats `nospace` shows a recovered episode (and the
 * harness: healthy, every member, writes acknowledged again). The recovery time is measured from the alarm (the
 * inject moves `faultAt` to the refused write); the checker requires every acknowledged write present.
 */
import type {ScenarioDef} from './harness.js'

const b64 = (s: string): string => Buffer.from(s).toString('base64')

/** A put through etcd's JSON gateway: undefined when accepted, else the answer (the refusal). */
async function tryPut(url: string, key: string, value: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${url}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({key: b64(key), value: b64(value)}),
      signal: AbortSignal.timeout(10_000),
    })
    const text = await res.text()
    return res.status === 200 && !/"error"/.test(text) ? undefined : text
  } catch (err) {
    return `request failed: ${(err as Error).message}`
  }
}

export const NOSPACE_SCENARIOS: ScenarioDef[] = [
  {
    name: 'nospace',
    description:
      'members with a 16 MiB backend quota filled (256 KiB values overwritten) until etcd raises NOSPACE and refuses writes: the scheduler compacts, defragments every member and disarms the alarm with no human action',
    expect: {reseed: false, livelocks: 'none', launched: 0},
    serveArgs: ['--etcd-quota-backend-bytes', '16MiB'],
    recovered: (_ctx, st) => st.nospace?.active === false && st.nospace.last?.outcome === 'recovered',
    recoveryTimeoutMs: 180_000,
    async inject(ctx) {
      const url = (await ctx.leader()).client_url
      const value = 'n'.repeat(256 * 1024)
      let refused: string | undefined
      for (let i = 0; i < 2000 && !/database space exceeded/.test(refused ?? ''); i++)
        refused = await tryPut(url, `fill/${ctx.cluster}/${i % 4}`, value)
      if (!/database space exceeded/.test(refused ?? ''))
        throw new Error(`etcd never raised NOSPACE (last answer: ${refused ?? 'accepted'})`)
      ctx.faultAt = Date.now()
      ctx.note(`NOSPACE raised: a write refused (${refused!.replace(/\s+/g, ' ').slice(0, 120)})`)
    },
  },
]
