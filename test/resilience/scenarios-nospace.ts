/**
 * Disk-space scenario (issue 17): the members run with a 16 MiB backend quota (--etcd-quota-backend-bytes); the inject
 * overwrites a few keys with 256 KiB values through the leader until etcd raises NOSPACE and refuses a write
 * ("database space exceeded") — the writer's puts are refused too from then on. The scheduler alone compacts,
 * defragments every member and disarms the alarm; recovered = /stats `nospace` shows a recovered episode (and the
 * harness: healthy, every member, writes acknowledged again). The recovery time is measured from the alarm (the
 * inject moves `faultAt` to the refused write); the checker requires every acknowledged write present.
 */
import {fillWith256KiB} from '../helpers/serve-e2e.js'
import type {ScenarioDef} from './harness.js'

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
      const refused = await fillWith256KiB(url, `fill/${ctx.cluster}/`, (answer) => /database space exceeded/.test(answer ?? ''))
      if (!/database space exceeded/.test(refused ?? ''))
        throw new Error(`etcd never raised NOSPACE (last answer: ${refused ?? 'accepted'})`)
      ctx.faultAt = Date.now()
      ctx.note(`NOSPACE raised: a write refused (${refused!.replace(/\s+/g, ' ').slice(0, 120)})`)
    },
  },
]
