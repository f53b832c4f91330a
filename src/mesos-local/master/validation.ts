/**
 * Validation rules of the local Mesos master, with the exact message texts of Mesos 1.12
 * (src/master/validation.cpp, src/common/roles.cpp, common/validation.cpp; checked against the recorded
 * transcripts in test/fixtures/real-mesos, Surprises 2, 7, 8 and 27). Pure functions: no I/O, no clock.
 * Every function returns the problem as a string, or null when the input is valid.
 */
import type {ExecutorInfo, FrameworkInfo, SchedulerCall, TaskInfo} from '../../lib/mesos/types.js'
import {isValidUuidBase64} from '../../lib/mesos/uuid.js'

/** C++ `stringify(hashset<string>)`: `{ a, b }`. */
export function stringifySet(items: Iterable<string>): string {
  return `{ ${[...items].join(', ')} }`
}

export function hasCapability(info: Pick<FrameworkInfo, 'capabilities'>, type: string): boolean {
  return (info.capabilities ?? []).some((c) => c?.type === type)
}

/** roles::validate (src/common/roles.cpp). */
export function validateRole(role: string): string | null {
  if (role === '*') return null
  if (role === '') return 'Empty role name is invalid'
  if (role.startsWith('/')) return `Role '${role}' cannot start with a slash`
  if (role.endsWith('/')) return `Role '${role}' cannot end with a slash`
  if (role.includes('//')) return `Role '${role}' cannot contain two adjacent slashes`
  for (const component of role.split('/')) {
    if (component === '.' || component === '..' || component === '*') {
      return `Role '${role}' cannot include '${component}' as a component`
    }
    if (component.startsWith('-')) return `Role component '${component}' is invalid because it starts with a dash`
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x20\x7f\\]/.test(component)) {
      return `Role component '${component}' is invalid because it contains backspace or whitespace`
    }
  }
  return null
}

/** Duration::create(seconds) fails when the value does not fit an int64 of nanoseconds. */
function validDurationSeconds(s: number): boolean {
  return Number.isFinite(s) && Math.abs(s * 1e9) <= 9.223372036854776e18
}

/** The roles a framework subscribes with: `roles` (MULTI_ROLE) or `[role ?? "*"]`. */
export function frameworkRoles(info: FrameworkInfo): string[] {
  return hasCapability(info, 'MULTI_ROLE') ? [...(info.roles ?? [])] : [info.role ?? '*']
}

/** framework::validate + the suppressed-roles check of Master::subscribe. */
export function validateFrameworkInfo(info: FrameworkInfo, suppressedRoles: readonly string[] = []): string | null {
  const multiRole = hasCapability(info, 'MULTI_ROLE')
  if (multiRole) {
    if (info.role !== undefined) return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"
    const seen = new Set<string>()
    const dups = new Set<string>()
    for (const r of info.roles ?? []) (seen.has(r) ? dups : seen).add(r)
    if (dups.size > 0) return `'FrameworkInfo.roles' contains duplicate items: ${stringifySet(dups)}`
    for (const r of info.roles ?? []) {
      const err = validateRole(r)
      if (err) return `'FrameworkInfo.roles' contains invalid role: ${err}`
    }
  } else {
    if ((info.roles ?? []).length > 0) return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"
    if (info.role !== undefined) {
      const err = validateRole(info.role)
      if (err) return `'FrameworkInfo.role' is not a valid role: ${err}`
    }
  }
  if (info.failover_timeout !== undefined && !validDurationSeconds(info.failover_timeout)) {
    return `The framework failover_timeout (${String(info.failover_timeout)}) is invalid`
  }
  const roles = new Set(frameworkRoles(info))
  const missing = suppressedRoles.filter((r) => !roles.has(r))
  if (missing.length > 0) return `Suppressed roles ${stringifySet(new Set(missing))} are not contained in the set of roles`
  return null
}

const SUB_MESSAGE: Partial<Record<SchedulerCall['type'], string>> = {
  ACCEPT: 'accept',
  DECLINE: 'decline',
  ACCEPT_INVERSE_OFFERS: 'accept_inverse_offers',
  DECLINE_INVERSE_OFFERS: 'decline_inverse_offers',
  KILL: 'kill',
  SHUTDOWN: 'shutdown',
  ACKNOWLEDGE: 'acknowledge',
  ACKNOWLEDGE_OPERATION_STATUS: 'acknowledge_operation_status',
  RECONCILE: 'reconcile',
  RECONCILE_OPERATIONS: 'reconcile_operations',
  MESSAGE: 'message',
  REQUEST: 'request',
  UPDATE_FRAMEWORK: 'update_framework',
}

/** scheduler::call::validate; the caller prefixes `Failed to validate scheduler::Call: `. */
export function validateCall(call: Partial<SchedulerCall> & Record<string, unknown>): string | null {
  if (call.type === undefined) return "Expecting 'type' to be present"
  if (call.type === 'SUBSCRIBE') {
    if (call.subscribe === undefined) return "Expecting 'subscribe' to be present"
    const infoId = call.subscribe.framework_info?.id?.value
    const topId = call.framework_id?.value
    if (infoId !== topId) return "'framework_id' differs from 'subscribe.framework_info.id'"
    return null
  }
  if (call.framework_id === undefined) return "Expecting 'framework_id' to be present"
  const sub = SUB_MESSAGE[call.type]
  if (sub !== undefined && call[sub] === undefined) return `Expecting '${sub}' to be present`
  if (call.type === 'ACKNOWLEDGE' && !isValidUuidBase64(call.acknowledge?.uuid ?? '')) return 'Not a valid UUID'
  if (call.type === 'ACKNOWLEDGE_OPERATION_STATUS') {
    if (!isValidUuidBase64(call.acknowledge_operation_status?.uuid ?? '')) return 'Not a valid UUID'
    if (call.acknowledge_operation_status?.agent_id === undefined) return "Expecting 'agent_id' to be present"
  }
  if (call.type === 'UPDATE_FRAMEWORK') {
    const uf = call.update_framework as {framework_info?: FrameworkInfo} | undefined
    if (uf?.framework_info?.id?.value !== call.framework_id.value) {
      return "'framework_id' differs from 'update_framework.framework_info.id'"
    }
  }
  return null
}

/** common::validation::validateID (task, executor ids). */
export function validateId(id: string): string | null {
  if (id === '') return 'ID must not be empty'
  if (id.length > 255) return 'ID must not be greater than 255 characters'
  if (id === '.' || id === '..') return `'${id}' is disallowed`
  // eslint-disable-next-line no-control-regex
  if (/[/\\\x00-\x1f\x7f]/.test(id)) return `'${id}' contains invalid characters`
  return null
}

/** Exactly one of command/executor; a LAUNCH executor must be CUSTOM (or unset) and have a command. */
export function validateTaskShape(task: TaskInfo): string | null {
  if ((task.command === undefined) === (task.executor === undefined)) {
    return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present'
  }
  const ex = task.executor
  if (ex !== undefined) {
    const idErr = validateId(ex.executor_id?.value ?? '')
    if (idErr) return `Executor ID ${idErr}`
    if (ex.type !== undefined && ex.type !== 'CUSTOM') return "'ExecutorInfo.type' must be 'CUSTOM' for a LAUNCH operation"
    if (ex.command === undefined) return "'ExecutorInfo.command' must be set for 'CUSTOM' executor"
  }
  return null
}

/** Same ExecutorID on one agent must always come with the same ExecutorInfo (framework_id aside). */
export function executorsCompatible(a: ExecutorInfo, b: ExecutorInfo): boolean {
  const strip = (e: ExecutorInfo): string => JSON.stringify({...e, framework_id: undefined, resources: undefined})
  return strip(a) === strip(b)
}
