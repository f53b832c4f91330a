/**
 * Shared setup of the scheduler core's scenario tests (test/unit/core-*.test.ts): the configurations they
 * start from, a running cluster in the simulated world (test/helpers/sim/sim.ts), and readers of the
 * actions a step returns.
 */
import assert from 'node:assert/strict'
import {parseMemberConfig, type MemberConfig} from '../../src/lib/member-config.js'
import type {SchedulerAction} from '../../src/scheduler/core/actions.js'
import type {SchedulerConfigInput} from '../../src/scheduler/core/config.js'
import {runningTasks} from '../../src/scheduler/core/state.js'
import {simOffer, World} from './sim/sim.js'

/** What every scenario configuration shares; memberOpRetryMs stays at its default (1 s). */
export const CORE_BASE_CFG = {
  clusterName: 'etcd',
  clusterSize: 3,
  executorCommand: {value: './etcd-mesos-executor'},
  healthIntervalMs: 5_000,
  bootstrapWaitMs: 2_000,
  memberGraceMs: 30_000,
  reseedTimeoutMs: 60_000,
  reseedCandidateTimeoutMs: 20_000,
  refuseSeconds: 15,
}

/** The usual scenario configuration: member operations retried every 3 s. */
export const CORE_CFG = {...CORE_BASE_CFG, memberOpRetryMs: 3_000}

/** Explicit reconciliation retried with a 1 s .. 8 s backoff; member operations at their default (1 s). */
export const FAST_RECONCILE_CFG = {...CORE_BASE_CFG, reconcileBackoffMinMs: 1_000, reconcileBackoffMaxMs: 8_000}

/**
 * A cluster of `cfg.clusterSize` (3 unless given) launched from offers of every one of `agents` agents
 * (S1..S<agents>), 6 s later: asserts that every member task runs.
 */
export function runningCluster(cfg: SchedulerConfigInput, agents: number): World {
  const w = new World(cfg, agents)
  w.start()
  w.offerAll()
  w.advance(6_000, {offers: false})
  assert.equal(runningTasks(w.state).length, cfg.clusterSize ?? 3)
  return w
}

/** runningCluster, and asserts that the cluster is healthy. */
export function healthyCluster(cfg: SchedulerConfigInput, agents: number): World {
  const w = runningCluster(cfg, agents)
  assert.equal(w.state.stats.healthy, 1)
  return w
}

/** Offers one agent at a time. */
export function offerAgent(w: World, agentId: string, id = `X-${agentId}-${w.now}`): SchedulerAction[] {
  return w.feed({type: 'Offers', offers: [simOffer(id, w.agents.get(agentId)!)]})
}

/** The index of the first action matching `pred` (-1 if none). */
export const idx = (acts: SchedulerAction[], pred: (a: SchedulerAction) => boolean): number => acts.findIndex(pred)

/** Every task the ACCEPTs among `acts` launch: its id, agent, offer and decoded member config. */
export function launches(acts: SchedulerAction[]): {taskId: string; agentId: string; offerId: string; cfg: MemberConfig}[] {
  return acts.flatMap((a) =>
    a.type === 'ACCEPT'
      ? a.operations.flatMap((op) =>
          (op.launch?.task_infos ?? []).map((ti) => ({
            taskId: ti.task_id.value,
            agentId: ti.agent_id.value,
            offerId: a.offerIds[0]!,
            cfg: parseMemberConfig(ti.data),
          })),
        )
      : [],
  )
}

/** A re-seed in progress as the state holds it (for what must not start meanwhile). */
export const RESEED_RUNNING = {
  op: 'x',
  manual: true,
  phase: 'ranking',
  startedAt: 0,
  candidates: [],
  current: 0,
  deadline: null,
  messaged: [],
} as const

/** A restore in progress as the state holds it (for what must not start meanwhile). */
export const RESTORE_RUNNING = {
  op: 'r',
  reason: 'manual',
  from: 'latest',
  target: 'file:///b',
  toRevision: null,
  phase: 'resolving',
  plan: null,
  startedAt: 0,
  lossAt: null,
  recoveryPointSeconds: null,
  deadline: null,
  launched: [],
} as const
