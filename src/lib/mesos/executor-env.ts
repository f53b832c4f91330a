/**
 * The executor's environment: the variables a Mesos agent sets for an executor it launches (see
 * mesos-v1-api.md §4.4), read and checked into an `ExecutorEnv`. A missing or malformed variable is an
 * ExecutorEnvError naming it. Durations use Mesos' format (duration.ts); defaults are the agent's.
 */
import {parseDuration} from './duration.js'

export class ExecutorEnvError extends Error {
  readonly variable: string
  constructor(variable: string, problem: string) {
    super(`executor environment: ${variable} ${problem}`)
    this.name = 'ExecutorEnvError'
    this.variable = variable
  }
}

export interface ExecutorEnv {
  agentEndpoint: string
  frameworkId: string
  executorId: string
  sandbox: string
  checkpoint: boolean
  recoveryTimeoutMs: number
  subscriptionBackoffMaxMs: number
  shutdownGracePeriodMs: number
  agentId?: string
  authToken?: string
}

const ENDPOINT_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/

function checkEndpoint(variable: string, value: string): string {
  const m = ENDPOINT_RE.exec(value)
  const port = m ? Number(m[2]) : 0
  if (!m || port < 1 || port > 65535) throw new ExecutorEnvError(variable, `is not ip:port: ${JSON.stringify(value)}`)
  return value
}

/** Read the variables the Mesos agent sets for an executor (see mesos-v1-api.md §4.4). */
export function readExecutorEnv(env: NodeJS.ProcessEnv = process.env): ExecutorEnv {
  const get = (name: string): string | undefined => {
    const v = env[name]
    return v === undefined || v === '' ? undefined : v
  }
  const required = (name: string): string => {
    const v = get(name)
    if (v === undefined) throw new ExecutorEnvError(name, 'is not set (is this process running as a Mesos executor?)')
    return v
  }
  const duration = (name: string, dflt: string): number => {
    const v = get(name) ?? dflt
    try {
      return parseDuration(v)
    } catch (err) {
      throw new ExecutorEnvError(name, `is not a duration: ${(err as Error).message}`)
    }
  }
  let agentEndpoint: string
  const endpoint = get('MESOS_AGENT_ENDPOINT')
  if (endpoint !== undefined) agentEndpoint = checkEndpoint('MESOS_AGENT_ENDPOINT', endpoint)
  else {
    const pid = get('MESOS_SLAVE_PID')
    if (pid === undefined) throw new ExecutorEnvError('MESOS_AGENT_ENDPOINT', 'is not set (nor MESOS_SLAVE_PID)')
    const at = pid.lastIndexOf('@')
    if (at < 0) throw new ExecutorEnvError('MESOS_SLAVE_PID', `is not a libprocess pid (id@ip:port): ${JSON.stringify(pid)}`)
    agentEndpoint = checkEndpoint('MESOS_SLAVE_PID', pid.slice(at + 1))
  }
  const frameworkId = required('MESOS_FRAMEWORK_ID')
  const executorId = required('MESOS_EXECUTOR_ID')
  const sandbox = get('MESOS_SANDBOX') ?? get('MESOS_DIRECTORY')
  if (sandbox === undefined) throw new ExecutorEnvError('MESOS_SANDBOX', 'is not set (nor MESOS_DIRECTORY)')
  const cp = get('MESOS_CHECKPOINT')
  if (cp !== undefined && cp !== '1' && cp !== '0')
    throw new ExecutorEnvError('MESOS_CHECKPOINT', `must be "1" or "0", got ${JSON.stringify(cp)}`)
  const agentId = get('MESOS_SLAVE_ID') ?? get('MESOS_AGENT_ID')
  const authToken = get('MESOS_EXECUTOR_AUTHENTICATION_TOKEN')
  return {
    agentEndpoint,
    frameworkId,
    executorId,
    sandbox,
    checkpoint: cp === '1',
    recoveryTimeoutMs: duration('MESOS_RECOVERY_TIMEOUT', '15mins'),
    subscriptionBackoffMaxMs: duration('MESOS_SUBSCRIPTION_BACKOFF_MAX', '2secs'),
    shutdownGracePeriodMs: duration('MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', '5secs'),
    ...(agentId !== undefined ? {agentId} : {}),
    ...(authToken !== undefined ? {authToken} : {}),
  }
}
