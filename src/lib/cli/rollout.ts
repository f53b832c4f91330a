/**
 * The `rollout status|start|pause|resume|abort` flows against the scheduler's admin API (GET /rollout, POST /rollout,
 * POST /rollout/pause|resume|abort), with listr2 progress while following (nothing rendered under --json).
 *
 * Exit codes: 0 ok (start: the rollout is done; status: not failed); 9 ROLLOUT_FAILED (start/status: it failed);
 * 6 REFUSED (409: one is active, nothing to roll, the version rules or a precondition refused it; nothing to
 * pause/resume/abort; a standby; not authorised); 4 not finished (--no-wait, --wait-timeout, paused or aborted while
 * followed); 3 unreachable and 5 unknown cluster as usual.
 */
import type {RolloutStats} from '../stats.js'
import type {AdminClient} from './admin-client.js'
import {CliError, ExitCode, type ExitCodeValue} from './exit-codes.js'
import {pollOperation} from './poll-operation.js'
import type {CommandIo} from './show.js'

export interface RolloutStatusDoc {
  rollout: RolloutStats | null
  desired: string
  differing: {member: string; differs: string[]}[]
}

export interface RolloutResult extends RolloutStatusDoc {
  outcome: 'done' | 'failed' | 'refused' | 'not_finished' | 'ok'
}

export function rolloutExitCode(outcome: RolloutResult['outcome']): ExitCodeValue {
  return {done: ExitCode.OK, ok: ExitCode.OK, failed: ExitCode.ROLLOUT_FAILED, refused: ExitCode.REFUSED, not_finished: ExitCode.UNHEALTHY}[
    outcome
  ]
}

export function describeRollout(doc: RolloutStatusDoc): string {
  const r = doc.rollout
  const lines = [`desired spec: ${doc.desired}`]
  if (doc.differing.length > 0)
    lines.push(`members differing: ${doc.differing.map((d) => `${d.member} (${d.differs.join(', ')})`).join('; ')}`)
  else lines.push('members differing: none')
  if (!r) lines.push('rollout: none yet')
  else {
    lines.push(`rollout ${r.op} (${r.reason}): ${r.state}${r.state === 'running' ? `, ${r.step}` : ''} — ${r.message}`)
    lines.push(`  target: ${r.target}`)
    lines.push(
      `  done: ${r.members.done.join(', ') || '-'}; current: ${r.members.current ?? '-'}; pending: ${r.members.pending.join(', ') || '-'}`,
    )
    const v = Object.entries(r.versions)
    if (v.length > 0) lines.push(`  versions: ${v.map(([m, x]) => `${m} ${x}`).join(', ')}; cluster version ${r.clusterVersion ?? '?'}`)
  }
  return lines.join('\n')
}

async function status(client: AdminClient): Promise<RolloutStatusDoc> {
  return (await client.get<RolloutStatusDoc>('/rollout')).body
}

export async function runRolloutStatus(client: AdminClient, io: CommandIo): Promise<RolloutResult> {
  const doc = await status(client)
  if (!io.json) io.log(describeRollout(doc))
  return {...doc, outcome: doc.rollout?.state === 'failed' ? 'failed' : 'ok'}
}

export async function runRolloutControl(client: AdminClient, action: 'pause' | 'resume' | 'abort', io: CommandIo): Promise<RolloutResult> {
  const r = await client.post<{error?: string}>(`/rollout/${action}`, {}, [202, 409, 503])
  if (r.status !== 202) throw new CliError(r.body.error ?? `rollout ${action} refused`, ExitCode.REFUSED, 'ROLLOUT_REFUSED')
  const doc = await status(client)
  if (!io.json) io.log(describeRollout(doc))
  return {...doc, outcome: 'ok'}
}

export interface RolloutFollowOptions {
  wait: boolean
  waitTimeoutSeconds: number
  pollMs: number
  /** Follow the current rollout instead of starting one. */
  follow: boolean
  followHint: string
}

async function followIt(client: AdminClient, op: string, opts: RolloutFollowOptions, io: CommandIo, onStep: (d: RolloutStatusDoc) => void) {
  const ended = (d: RolloutStatusDoc) => d.rollout?.op !== op || d.rollout.state !== 'running'
  return (
    await pollOperation(
      () => status(client),
      ended,
      opts,
      (t) => io.warn(t),
      onStep,
    )
  ).doc
}

/** `rollout start` (or `--follow`): start a rollout to the desired spec and follow it member by member. */
export async function runRolloutStart(client: AdminClient, opts: RolloutFollowOptions, io: CommandIo): Promise<RolloutResult> {
  let op: string
  if (opts.follow) {
    const d = await status(client)
    if (!d.rollout) throw new CliError('no rollout to follow', ExitCode.REFUSED, 'ROLLOUT_REFUSED')
    op = d.rollout.op
  } else {
    const r = await client.post<{op?: string; error?: string}>('/rollout', {}, [202, 409, 503])
    if (r.status !== 202 || typeof r.body.op !== 'string')
      throw new CliError(r.body.error ?? 'rollout refused', ExitCode.REFUSED, 'ROLLOUT_REFUSED')
    op = r.body.op
    io.log(`rollout ${op} started`)
  }
  if (!opts.wait) {
    io.log(`not waiting; follow it with: ${opts.followHint}`)
    return {...(await status(client)), outcome: 'not_finished'}
  }
  let doc: RolloutStatusDoc | null = null
  if (io.json) doc = await followIt(client, op, opts, io, () => {})
  else {
    const {Listr} = await import('listr2')
    const wide = process.stdout.isTTY === true && (process.stdout.columns ?? 0) >= 40
    await new Listr(
      [
        {
          title: 'Rolling members one at a time (followers first, the leader last)',
          task: async (_ctx: unknown, task: {title: string; output: string}) => {
            doc = await followIt(client, op, opts, io, (d) => {
              const r = d.rollout
              if (r)
                task.output = `${r.members.done.length}/${r.members.done.length + r.members.pending.length + (r.members.current ? 1 : 0)} done — ${r.message}`
            })
            const r = (doc as RolloutStatusDoc | null)?.rollout
            if (r && (r.state === 'failed' || r.state === 'refused')) throw new Error(`rollout ${r.state}: ${r.message}`)
            if (r?.state === 'done') task.title = `Rollout ${r.op} done: ${r.members.done.join(', ')} relaunched with ${r.target}`
          },
        },
      ],
      {renderer: wide ? 'default' : 'simple', exitOnError: true, registerSignalListeners: false},
    )
      .run()
      .catch(() => undefined)
  }
  const final = doc as RolloutStatusDoc | null
  if (!final)
    throw new CliError('the scheduler could not be reached while following the rollout', ExitCode.UNREACHABLE, 'SCHEDULER_UNREACHABLE')
  const st = final.rollout?.op === op ? final.rollout.state : 'running'
  const outcome: RolloutResult['outcome'] =
    st === 'done' ? 'done' : st === 'failed' ? 'failed' : st === 'refused' ? 'refused' : 'not_finished'
  if (outcome === 'failed' || outcome === 'refused') io.warn(`rollout ${st}: ${final.rollout?.message ?? ''}`)
  if (outcome === 'not_finished') io.log(`rollout ${op} is ${st}; follow it with: ${opts.followHint}`)
  return {...final, outcome}
}
