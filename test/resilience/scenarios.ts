/**
 * The named resilience scenarios (peers-and-anchors.md §4.3), each repeatable: name → {inject, expect}.
 * `inject` performs the fault and returns; the harness then waits for recovery and runs the checker.
 * Member roles (leader/follower) are read from the scheduler's /members just before the fault.
 */
import {etcdPids} from '../helpers/serve.js'
import {replaced, sleep, waitUntil, type ScenarioDef} from './harness.js'
import {flap, killEtcd, killExecutor, pause} from './faults.js'
import {killEtcdAndData} from '../helpers/serve.js'
import {NET_SCENARIOS} from './scenarios-net.js'
import {ZK_SCENARIOS} from './scenarios-zk.js'
import {RESEED_SCENARIOS} from './scenarios-reseed.js'
import {RESTORE_SCENARIOS} from './scenarios-restore.js'
import {NOSPACE_SCENARIOS} from './scenarios-nospace.js'
import {ROLLOUT_SCENARIOS} from './scenarios-rollout.js'
import {TLS_SCENARIOS} from './scenarios-tls.js'

function killSchedulerAt(name: string, re: RegExp, description: string, trigger: 'replace' | 'quorum'): ScenarioDef {
  const victims: string[] = []
  return {
    name,
    description,
    // A launch intent persisted before the kill but never sent to Mesos counts as launched (and then failed:
    // reconciliation answers "unknown to the agent"): one replacement may take two launches.
    expect:
      trigger === 'quorum' ? {reseed: true, livelocks: 'some', launchedAtMost: 4} : {reseed: false, livelocks: 'none', launchedAtMost: 2},
    recovered: (ctx, st, ms) => ctx.serveGen >= 2 && replaced(() => victims)(ctx, st, ms),
    recoveryTimeoutMs: 150_000,
    async inject(ctx) {
      victims.length = 0
      const killed = ctx.killServeOn(re, 90_000)
      if (trigger === 'replace') {
        const f = (await ctx.followers())[0]!
        victims.push(f.name)
        // With a role a member whose etcd dies is relaunched on its volume: only without its data is it replaced.
        if (ctx.shared.role) await killEtcdAndData(f.name)
        else await killEtcd(f.name)
        ctx.killedTasks = 1
      } else {
        const fs = await ctx.followers()
        const l = await ctx.leader()
        // With their data: otherwise the scheduler heals the quorum in place and never re-seeds.
        for (const m of [fs[0]!, l]) {
          victims.push(m.name)
          await killEtcdAndData(m.name)
        }
        ctx.killedTasks = 2
      }
      const line = await killed
      ctx.note(`serve SIGKILLed at: ${line.replace(/^\S+ /, '').slice(0, 160)}`)
      await ctx.serve.exit
      await ctx.startServe()
    },
  }
}

export const SCENARIOS: ScenarioDef[] = [
  (() => {
    const v: string[] = []
    return {
      name: 'kill-follower',
      description: "SIGKILL a follower's etcd (data kept on the agent)",
      expect: {reseed: false, livelocks: 'none', launched: 1},
      recovered: replaced(() => v),
      async inject(ctx) {
        v.length = 0
        const f = (await ctx.followers())[0]!
        v.push(f.name)
        await killEtcd(f.name)
        ctx.killedTasks = 1
      },
    } satisfies ScenarioDef
  })(),
  (() => {
    const v: string[] = []
    return {
      name: 'kill-leader',
      description: "SIGKILL the leader's etcd (data kept on the agent)",
      expect: {reseed: false, livelocks: 'any', launched: 1},
      recovered: replaced(() => v),
      async inject(ctx) {
        v.length = 0
        const l = await ctx.leader()
        v.push(l.name)
        await killEtcd(l.name)
        ctx.killedTasks = 1
      },
    } satisfies ScenarioDef
  })(),
  {
    name: 'kill-quorum-keep-data',
    description:
      'SIGKILL 2 of 3 etcds (leader + follower), data kept: must heal without a re-seed before --reseed-timeout (15 s) (the scheduler restarts both members in place on their kept data)',
    expect: {reseed: false, livelocks: 'none'},
    async inject(ctx) {
      const f = (await ctx.followers())[0]!
      const l = await ctx.leader()
      await killEtcd(f.name)
      await killEtcd(l.name)
      ctx.killedTasks = 2
    },
  },
  (() => {
    const v: string[] = []
    return {
      name: 'lose-follower-and-data',
      description: "a follower's agent is gone for good with its data (agent stopped hard, its processes killed, removed by the master)",
      expect: {reseed: false, livelocks: 'none', launched: 1},
      recovered: replaced(() => v),
      async inject(ctx) {
        v.length = 0
        const f = (await ctx.followers())[0]!
        v.push(f.name)
        await ctx.loseAgent(ctx.agentIndexOf(f))
        ctx.killedTasks = 1
      },
    } satisfies ScenarioDef
  })(),
  (() => {
    const v: string[] = []
    return {
      name: 'lose-leader-and-data',
      description: "the leader's agent is gone for good with its data",
      expect: {reseed: false, livelocks: 'any', launched: 1},
      recovered: replaced(() => v),
      async inject(ctx) {
        v.length = 0
        const l = await ctx.leader()
        v.push(l.name)
        await ctx.loseAgent(ctx.agentIndexOf(l))
        ctx.killedTasks = 1
      },
    } satisfies ScenarioDef
  })(),
  (() => {
    const v: string[] = []
    return {
      name: 'lose-quorum-and-data',
      description: 'the agents of 2 of 3 members (leader included) are gone with their data: re-seed from the survivor',
      expect: {reseed: true, livelocks: 'some'},
      recovered: replaced(() => v),
      recoveryTimeoutMs: 150_000,
      async inject(ctx) {
        v.length = 0
        const f = (await ctx.followers())[0]!
        const l = await ctx.leader()
        v.push(f.name, l.name)
        await ctx.loseAgent(ctx.agentIndexOf(f))
        await ctx.loseAgent(ctx.agentIndexOf(l))
        ctx.killedTasks = 2
      },
    } satisfies ScenarioDef
  })(),
  {
    name: 'lose-everything',
    description: 'the agents of all 3 members are gone with their data (2 spare agents keep offering): TOTAL_LOSS, nothing launched',
    expect: {reseed: false, livelocks: 'any', totalLoss: true},
    async inject(ctx) {
      for (const m of await ctx.members()) await ctx.loseAgent(ctx.agentIndexOf(m))
      ctx.killedTasks = 3
    },
  },
  {
    name: 'pause-follower',
    description: "SIGSTOP a follower's etcd for 6 s, then SIGCONT: no replacement",
    expect: {reseed: false, livelocks: 'none', launched: 0},
    async inject(ctx) {
      await pause((await ctx.followers())[0]!.name, 6000)
    },
  },
  {
    name: 'pause-leader',
    description: "SIGSTOP the leader's etcd for 6 s (a new leader is elected), then SIGCONT: no replacement",
    expect: {reseed: false, livelocks: 'any', launched: 0},
    async inject(ctx) {
      await pause((await ctx.leader()).name, 6000)
    },
  },
  {
    name: 'delay-follower-traffic',
    description: "a follower's traffic (peer + client) delayed: its etcd flaps 250 ms stopped / 250 ms running for 12 s",
    expect: {reseed: false, livelocks: 'none', launched: 0},
    async inject(ctx) {
      await flap((await ctx.followers())[0]!.name, 12_000, 250, 250)
    },
  },
  {
    name: 'cut-quorum-traffic',
    description:
      'two members (leader + follower) stopped for 8 s at once (quorum unreachable, processes alive), then resumed: heals without a re-seed; shorter than --reseed-timeout, so no livelock episode is counted (an episode = quorum lost for --reseed-timeout)',
    expect: {reseed: false, livelocks: 'none', launched: 0},
    async inject(ctx) {
      const f = (await ctx.followers())[0]!
      const l = await ctx.leader()
      await Promise.all([pause(f.name, 8000), pause(l.name, 8000)])
    },
  },
  {
    name: 'kill-scheduler-idle',
    description: 'SIGKILL serve while the cluster is idle and healthy, restart it: nothing relaunched',
    expect: {reseed: false, livelocks: 'none', launched: 0},
    recovered: (ctx) => ctx.serveGen >= 2,
    async inject(ctx) {
      await ctx.killServe()
      await sleep(1000)
      await ctx.startServe()
    },
  },
  killSchedulerAt(
    'kill-scheduler-before-member-add',
    /adding etcd member before launching it/,
    'SIGKILL serve as it asks etcd to add a replacement member (a follower was killed); restart',
    'replace',
  ),
  killSchedulerAt(
    'kill-scheduler-after-member-add',
    /INFO etcd member added/,
    'SIGKILL serve right after etcd applied the replacement member add, before its launch; restart',
    'replace',
  ),
  killSchedulerAt(
    'kill-scheduler-at-launch',
    /launching etcd member/,
    'SIGKILL serve as it launches the replacement task; restart',
    'replace',
  ),
  killSchedulerAt(
    'kill-scheduler-mid-reseed',
    /asking a member to become the re-seed/,
    'quorum lost (2 etcds killed with their data); SIGKILL serve as it asks the seed to re-seed; restart: it finishes the re-seed',
    'quorum',
  ),
  killSchedulerAt(
    'kill-scheduler-after-reseed-proven',
    /re-seed proven; killing every other member task/,
    'quorum lost (2 etcds killed with their data); SIGKILL serve once the seed is proven, before the stale tasks are killed; restart',
    'quorum',
  ),
  (() => {
    const v: string[] = []
    return {
      name: 'executor-killed',
      description: "SIGKILL a follower's executor (its etcd dies with it: pdeathsig)",
      expect: {reseed: false, livelocks: 'none', launched: 1},
      recovered: replaced(() => v),
      async inject(ctx) {
        v.length = 0
        const f = (await ctx.followers())[0]!
        v.push(f.name)
        killExecutor(f.name)
        await waitUntil(`etcd ${f.name} to die with its executor`, async () => etcdPids(f.name).length === 0, 10_000, 50)
        ctx.killedTasks = 1
      },
    } satisfies ScenarioDef
  })(),
  {
    name: 'agent-restarted',
    description:
      "a member's agent crashes and restarts 1 s later, within the master's agent removal timeout (3 s here; checkpoint recovery): etcd keeps running, nothing relaunched",
    expect: {reseed: false, livelocks: 'none', launched: 0},
    async inject(ctx) {
      const i = ctx.agentIndexOf((await ctx.followers())[0]!)
      await ctx.mesos.stopAgent(i, 'kill')
      await sleep(1000)
      await ctx.mesos.startAgent(i)
      await sleep(3000)
    },
  },
  {
    name: 'task-lost-then-running',
    description:
      "a member's agent is down 5 s (> the 3 s removal timeout: TASK_LOST, agent removed), then restarts and re-registers with its etcd still running (TASK_RUNNING again): at most one replacement, no duplicate member",
    expect: {reseed: false, livelocks: 'none', launchedAtMost: 1},
    async inject(ctx) {
      const i = ctx.agentIndexOf((await ctx.followers())[0]!)
      await ctx.mesos.stopAgent(i, 'kill')
      await sleep(5000)
      await ctx.mesos.startAgent(i)
      await sleep(5000)
    },
  },
  (() => {
    const v: string[] = []
    return {
      name: 'agent-partitioned-from-mesos',
      description:
        "a follower's agent disappears from Mesos while its etcd keeps serving (TASK_LOST, agent removed): the member is removed (its etcd exits 0 as removed) and replaced; the agent comes back afterwards",
      expect: {reseed: false, livelocks: 'none', launched: 1},
      recovered: replaced(() => v),
      async inject(ctx) {
        v.length = 0
        const f = (await ctx.followers())[0]!
        v.push(f.name)
        const i = ctx.agentIndexOf(f)
        await ctx.mesos.stopAgent(i, 'kill')
        ctx.killedTasks = 1
        await waitUntil(`the replacement of ${f.name}`, async () => !(await ctx.members()).some((m) => m.name === f.name), 90_000)
        await ctx.mesos.startAgent(i)
        await waitUntil(`the removed member's etcd ${f.name} to be gone`, async () => etcdPids(f.name).length === 0, 60_000)
        ctx.note(`the removed member ${f.name}'s etcd exited after its removal`)
      },
    } satisfies ScenarioDef
  })(),
  {
    name: 'master-failover',
    description:
      'the leading Mesos master (of 2, ZooKeeper election) is killed: the scheduler re-subscribes to the new one, reconciles, relaunches nothing',
    masters: 2,
    expect: {reseed: false, livelocks: 'none', launched: 0},
    async inject(ctx) {
      const i = ctx.mesos.masters.findIndex((m) => m.isLeader())
      await ctx.mesos.killMaster(i)
      await sleep(3000)
    },
  },
  {
    name: 'zookeeper-down-and-back',
    description: 'ZooKeeper stopped for 8 s then restarted (same data): etcd keeps serving, nothing relaunched',
    expect: {reseed: false, livelocks: 'none', launched: 0},
    async inject(ctx) {
      await ctx.shared.zk.stop()
      try {
        await sleep(8000)
      } finally {
        await ctx.shared.zk.start()
      }
    },
  },
  (() => {
    const v: string[] = []
    return {
      name: 'status-update-faults',
      description:
        'every agent drops ~50% of its status update sends (re-sent every 100 ms → duplicates) and delays them 300 ms (reordered across tasks); then a follower is killed: exactly one replacement',
      agentOptions: {statusUpdateRetryMinMs: 100, statusUpdateRetryMaxMs: 400},
      expect: {reseed: false, livelocks: 'none', launched: 1},
      recovered: replaced(() => v),
      async inject(ctx) {
        v.length = 0
        for (const a of ctx.mesos.agents) a.agent.faults = {dropUpdates: () => Math.random() < 0.5, delayUpdatesMs: 300}
        const f = (await ctx.followers())[0]!
        v.push(f.name)
        await killEtcd(f.name)
        ctx.killedTasks = 1
      },
    } satisfies ScenarioDef
  })(),
]

/** Every named scenario: the process-level ones above, the re-seed ones of scenarios-reseed.ts and the network ones of scenarios-net.ts. */
export const ALL_SCENARIOS: ScenarioDef[] = [
  ...SCENARIOS,
  ...RESEED_SCENARIOS,
  ...NET_SCENARIOS,
  ...ZK_SCENARIOS,
  ...RESTORE_SCENARIOS,
  ...NOSPACE_SCENARIOS,
  ...ROLLOUT_SCENARIOS,
  ...TLS_SCENARIOS,
]

export function scenario(name: string): ScenarioDef {
  const s = ALL_SCENARIOS.find((x) => x.name === name)
  if (!s) throw new Error(`unknown scenario ${name}; known: ${ALL_SCENARIOS.map((x) => x.name).join(', ')}`)
  return s
}

/** Not covered, with the reason (RESILIENCE.md). */
export const NOT_COVERED: {name: string; why: string}[] = [
  {
    name: 'clock skew, bit flips in WAL/snapshot, lost un-fsynced writes',
    why: "need lazyfs/faketime; etcd's own robustness suite covers them; not specific to the framework. A full disk during a re-seed is tested apart, on a real tmpfs: `test/integration/executor-reseed-space.test.ts`.",
  },
  {
    name: 'scheduler partitioned from the master',
    why: 'loopback only and no iptables: serve cannot be cut from the master while the agents still reach it (its etcd traffic, though, goes through the TCP proxies of the net scenarios).',
  },
]
