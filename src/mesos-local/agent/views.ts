/**
 * What the local agent shows of itself, read-only: the backend the executor HTTP API uses (executor-api.ts:
 * lookup of the calling executor, then routing of its calls to executor-calls.ts), the agent `/state` JSON
 * (state-json.ts builds it from the records), and the task views the master reads (AgentPort.tasks).
 */
import {formatDuration} from '../../lib/mesos/duration.js'
import type {AgentTaskView} from '../link.js'
import {formatResources} from '../resources.js'
import type {ExecutorApiBackend, ExecutorLookup, ExecutorStream} from './executor-api.js'
import * as calls from './executor-calls.js'
import {endpointOf, key, type AgentState} from './state.js'
import {agentFlags, buildAgentState} from './state-json.js'

export function executorBackend(agent: AgentState): ExecutorApiBackend {
  return {
    lookup: (fid: string, eid: string): ExecutorLookup => {
      if (!agent.frameworks.has(fid)) return 'no-framework'
      const ex = agent.executors.get(key(fid, eid))
      if (!ex || ex.kind === 'command') return 'no-executor'
      return ex.state === 'REGISTERING' ? 'not-subscribed' : 'ok'
    },
    subscribe: (call, stream: ExecutorStream) => calls.subscribe(agent, call, stream),
    update: (call) => calls.update(agent, call),
    message: (call) => calls.message(agent, call),
  }
}

/** The agent's `/state`. `masterHostname`: reverse lookup of the registered master's ip, if known. */
export function agentStateJson(agent: AgentState, startTime: number, masterHostname: string | undefined): Record<string, unknown> {
  const o = agent.options
  return buildAgentState({
    agentId: agent.id,
    pid: `slave(1)@${endpointOf(agent)}`,
    hostname: o.hostname,
    startTime,
    ...(agent.master && masterHostname !== undefined ? {masterHostname} : {}),
    total: agent.checkpointed ?? o.resources,
    frameworks: [...agent.frameworks.values()],
    executors: [...agent.executors.values()],
    tasks: [...agent.tasks.values()],
    completedExecutors: agent.completed,
    flags: agentFlags({
      ip: o.ip,
      port: agent.tcpPort,
      hostname: o.hostname,
      workDir: o.workDir,
      master: masterFlag(agent),
      resources: formatResources(o.resources).replace(/; /g, ';'),
      executorRegistrationTimeout: formatDuration(o.executorRegistrationTimeoutMs),
      executorReregistrationTimeout: formatDuration(o.executorReregistrationTimeoutMs),
      executorShutdownGracePeriod: formatDuration(o.executorShutdownGracePeriodMs),
      recoveryTimeout: formatDuration(o.recoveryTimeoutMs),
    }),
  })
}

/** The `master` flag shown in /state: the configured one, else the registered master's ip:port. */
function masterFlag(agent: AgentState): string {
  if (agent.options.masterFlag !== '') return agent.options.masterFlag
  const a = agent.master?.masterInfo?.().address
  return a ? `${a.ip ?? ''}:${a.port}` : ''
}

/** AgentPort.tasks: the agent's tasks (of one framework, or all) with their status update stream heads. */
export function taskViews(agent: AgentState, fid?: string): AgentTaskView[] {
  return [...agent.tasks.values()]
    .filter((t) => fid === undefined || t.frameworkId === fid)
    .map((t) => {
      const ex =
        agent.executors.get(key(t.frameworkId, t.executorId)) ??
        agent.completed.find((c) => c.frameworkId === t.frameworkId && c.id === t.executorId)
      const head = agent.updates.head(t.frameworkId, t.info.task_id.value)
      return {
        frameworkId: t.frameworkId,
        task: t.info,
        ...(ex?.kind === 'command' ? {} : {executorId: t.executorId}),
        state: t.state,
        ...(head ? {statusUpdateState: head.state, statusUpdateUuid: head.uuid} : {}),
        statuses: t.statuses,
      }
    })
}
