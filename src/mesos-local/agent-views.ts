/**
 * What the local agent shows of itself, read-only: the backend the executor HTTP API uses (executor-api.ts:
 * lookup of the calling executor, then routing of its calls to executor-calls.ts), the agent `/state` JSON
 * (agent-state.ts builds it from the records), and the task views the master reads (AgentPort.tasks).
 */
import {formatDuration} from '../lib/mesos/duration.js'
import type {LocalAgent} from './agent.js'
import {key} from './agent-keys.js'
import {agentFlags, buildAgentState} from './agent-state.js'
import type {ExecutorApiBackend, ExecutorLookup, ExecutorStream} from './executor-api.js'
import type {AgentTaskView} from './link.js'
import {formatResources} from './resources.js'

export function executorBackend(agent: LocalAgent): ExecutorApiBackend {
  return {
    lookup: (fid: string, eid: string): ExecutorLookup => {
      if (!agent.frameworks.has(fid)) return 'no-framework'
      const ex = agent.executors.get(key(fid, eid))
      if (!ex || ex.kind === 'command') return 'no-executor'
      return ex.state === 'REGISTERING' ? 'not-subscribed' : 'ok'
    },
    subscribe: (call, stream: ExecutorStream) => agent.calls.subscribe(call, stream),
    update: (call) => agent.calls.update(call),
    message: (call) => agent.calls.message(call),
  }
}

/** The agent's `/state`. `masterHostname`: reverse lookup of the registered master's ip, if known. */
export function agentStateJson(agent: LocalAgent, startTime: number, masterHostname: string | undefined): Record<string, unknown> {
  const o = agent.options
  return buildAgentState({
    agentId: agent.id, pid: `slave(1)@${agent.endpoint}`, hostname: o.hostname, startTime,
    ...(agent.master && masterHostname !== undefined ? {masterHostname} : {}),
    total: o.resources, frameworks: [...agent.frameworks.values()], executors: [...agent.executors.values()],
    tasks: [...agent.tasks.values()], completedExecutors: agent.completed,
    flags: agentFlags({
      ip: o.ip, port: agent.tcp, hostname: o.hostname, workDir: o.workDir, master: masterFlag(agent),
      resources: formatResources(o.resources).replace(/; /g, ';'),
      executorRegistrationTimeout: formatDuration(o.executorRegistrationTimeoutMs),
      executorReregistrationTimeout: formatDuration(o.executorReregistrationTimeoutMs),
      executorShutdownGracePeriod: formatDuration(o.executorShutdownGracePeriodMs),
      recoveryTimeout: formatDuration(o.recoveryTimeoutMs),
    }),
  })
}

/** The `master` flag shown in /state: the configured one, else the registered master's ip:port. */
function masterFlag(agent: LocalAgent): string {
  if (agent.options.masterFlag !== '') return agent.options.masterFlag
  const a = agent.master?.masterInfo?.().address
  return a ? `${a.ip ?? ''}:${a.port}` : ''
}

/** AgentPort.tasks: the agent's tasks (of one framework, or all) with their status update stream heads. */
export function taskViews(agent: LocalAgent, fid?: string): AgentTaskView[] {
  return [...agent.tasks.values()]
    .filter((t) => fid === undefined || t.frameworkId === fid)
    .map((t) => {
      const ex = agent.executors.get(key(t.frameworkId, t.executorId)) ?? agent.completed.find((c) => c.frameworkId === t.frameworkId && c.id === t.executorId)
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
