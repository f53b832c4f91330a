/**
 * Rolling upgrade scenario (issue 16): the cluster runs Debian 12's etcd 3.4.23; the inject stops serve (SIGTERM: the
 * members keep running) and starts it again with `--etcd-bin` = etcd 3.5.16 (scripts/fetch-etcd.sh). The new serve
 * rolls every member in place, one at a time, followers first and the leader last after MoveLeader, while the writer
 * runs. Recovered = /stats `rollout.state` done (and the harness: healthy, every member, writes acknowledged); the
 * checker requires every acknowledged write present. Three relaunches (one per member), no re-seed, no livelock.
 */
import {etcd35Bin} from '../helpers/etcd-versions.js'
import type {ScenarioDef} from './harness.js'

export const ROLLOUT_SCENARIOS: ScenarioDef[] = [
  {
    name: 'rolling-upgrade',
    description:
      'serve restarted with --etcd-bin <etcd 3.5.16>: every member relaunched in place from 3.4.23, one at a time (followers first, the leader last after MoveLeader), under writes',
    expect: {reseed: false, livelocks: 'none', launched: 3},
    recovered: (_ctx, st) => st.rollout?.state === 'done',
    recoveryTimeoutMs: 300_000,
    async inject(ctx) {
      const bin = await etcd35Bin()
      ctx.killedTasks = 3
      await ctx.restartServeWith((args) => {
        const i = args.indexOf('--etcd-bin')
        args[i + 1] = bin
        return args
      })
      ctx.note(`serve restarted with --etcd-bin ${bin}`)
    },
  },
]
