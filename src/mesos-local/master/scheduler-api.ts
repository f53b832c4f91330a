/**
 * POST /api/v1/scheduler after transport checks (leader, method, Content-Type, Accept: http.ts):
 * decode → call validation → SUBSCRIBE, or framework lookup → "not subscribed" → stream-id check → dispatch.
 * Status codes and texts follow Mesos 1.12 (reference §1.1, fixture 03, Surprises 2-13).
 * Documented difference: `type: UNKNOWN` gets 501 here (the real master aborts, Surprise 1).
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {CodecError, decode} from '../../lib/mesos/codec.js'
import type {ContentType, FrameworkInfo, SchedulerCall} from '../../lib/mesos/types.js'
import {acknowledge, message, shutdownExecutor} from './agent-calls.js'
import {removeFramework, subscribe} from './frameworks.js'
import {accept} from './accept.js'
import {decline, revive, suppress} from './offers.js'
import {kill, reconcile} from './reconcile.js'
import {log, type MasterState} from './state.js'
import {frameworkRoles, validateCall, validateFrameworkInfo} from './validation.js'

export function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(body, 'utf8')
  res.writeHead(status, {...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(buf.byteLength)})
  res.end(buf)
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, {...headers, 'Content-Length': '0'})
  res.end()
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

export function handleSchedulerCall(
  m: MasterState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  ct: ContentType,
  respType: ContentType,
): void {
  let call: SchedulerCall
  try {
    call = decode<SchedulerCall>('scheduler.Call', body, ct)
  } catch (err) {
    if (err instanceof CodecError) return sendText(res, 400, err.message)
    throw err
  }
  const invalid = validateCall(call as SchedulerCall & Record<string, unknown>)
  if (invalid) return sendText(res, 400, `Failed to validate scheduler::Call: ${invalid}`)
  const streamHeader = header(req, 'mesos-stream-id')
  if (call.type === 'SUBSCRIBE') {
    if (streamHeader !== undefined) return sendText(res, 400, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
    return subscribe(m, call, res, respType)
  }
  const fw = m.frameworks.get(call.framework_id!.value)
  if (!fw) return sendText(res, 400, 'Framework cannot be found')
  if (!fw.stream) return sendText(res, 403, 'Framework is not subscribed')
  if (streamHeader === undefined) return sendText(res, 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header")
  if (streamHeader !== fw.streamId) {
    return sendText(
      res,
      400,
      `The stream ID '${streamHeader}' included in this request didn't match the stream ID currently associated with framework ID ${fw.id}`,
    )
  }
  switch (call.type) {
    case 'TEARDOWN':
      removeFramework(m, fw.id, 'TEARDOWN call') // closes the stream before the 202 (Surprise 16)
      break
    case 'ACCEPT':
      accept(m, fw, call.accept!)
      break
    case 'DECLINE':
      decline(m, fw, call.decline!.offer_ids ?? [], call.decline!.filters?.refuse_seconds)
      break
    case 'REVIVE':
      revive(m, fw, call.revive?.roles)
      break
    case 'SUPPRESS':
      suppress(fw, call.suppress?.roles)
      break
    case 'KILL':
      kill(m, fw, call.kill!.task_id.value, call.kill!.agent_id?.value, call.kill!.kill_policy)
      break
    case 'SHUTDOWN':
      shutdownExecutor(m, fw, call.shutdown!.agent_id.value, call.shutdown!.executor_id.value)
      break
    case 'ACKNOWLEDGE':
      acknowledge(m, fw, call.acknowledge!.agent_id.value, call.acknowledge!.task_id.value, call.acknowledge!.uuid)
      break
    case 'RECONCILE':
      reconcile(m, fw, call.reconcile!.tasks)
      break
    case 'MESSAGE':
      message(m, fw, call.message!.agent_id.value, call.message!.executor_id.value, call.message!.data)
      break
    case 'UPDATE_FRAMEWORK': {
      const uf = (call as unknown as {update_framework: {framework_info: FrameworkInfo; suppressed_roles?: string[]}}).update_framework
      const err = validateFrameworkInfo(uf.framework_info, uf.suppressed_roles ?? [])
      if (err) return sendText(res, 400, err)
      fw.info = {...uf.framework_info, id: {value: fw.id}}
      fw.roles = frameworkRoles(uf.framework_info)
      fw.suppressed = new Set(uf.suppressed_roles ?? [])
      return sendEmpty(res, 200)
    }
    case 'REQUEST':
    case 'ACCEPT_INVERSE_OFFERS':
    case 'DECLINE_INVERSE_OFFERS':
      break // accepted and ignored, as the built-in allocator does with REQUEST
    case 'ACKNOWLEDGE_OPERATION_STATUS': {
      // Operation statuses are sent once (no resends to stop): the acknowledgement is accepted and logged.
      const ack = call.acknowledge_operation_status!
      log(m, `ACKNOWLEDGE_OPERATION_STATUS of operation '${ack.operation_id?.value ?? ''}' (status ${ack.uuid}) from framework ${fw.id}`)
      break
    }
    case 'RECONCILE_OPERATIONS':
      return sendText(res, 501, 'RECONCILE_OPERATIONS is not implemented by the local Mesos master')
    default:
      return sendText(res, 501, `Received an unexpected '${String(call.type)}' call`)
  }
  sendEmpty(res, 202)
}
