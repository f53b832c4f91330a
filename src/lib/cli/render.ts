/**
 * Human output of the operator commands: plain-text summaries and tables built from the admin API
 * documents (src/lib/cli/types.ts). Every function is pure: it takes the document, the current time and
 * a chalk instance, and returns text. Colour is decided once by `colours()`: NO_COLOR (non-empty) turns
 * it off, FORCE_COLOR forces it, otherwise colour is used only when the stream is a TTY.
 */
import {Chalk, supportsColor, type ChalkInstance} from 'chalk'
import type {FailoverStatus, Member, ReseedCandidates, ReseedOperation, Stats} from './types.js'

export type ColourLevel = 0 | 1 | 2 | 3

/** The colour level for `stream` under `env` (see the module comment). */
export function colourLevel(stream: {isTTY?: boolean}, env: NodeJS.ProcessEnv = process.env): ColourLevel {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  const force = env.FORCE_COLOR
  if (force !== undefined) {
    if (force === '' || force === 'true') return 1
    if (force === 'false') return 0
    const n = Number.parseInt(force, 10)
    return Number.isNaN(n) ? 1 : (Math.max(0, Math.min(n, 3)) as ColourLevel)
  }
  if (!stream.isTTY || env.TERM === 'dumb') return 0
  return supportsColor ? (Math.max(1, supportsColor.level) as ColourLevel) : 1
}

export function colours(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  return new Chalk({level: colourLevel(stream, env)})
}

const ANSI = /\u001B\[[0-9;]*m/g
const visible = (s: string): number => s.replace(ANSI, '').length

/** A left-aligned table with a header row; cells may contain colour codes. */
export function renderTable(headers: string[], rows: string[][], c: ChalkInstance): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))))
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell))))
      .join('  ')
      .trimEnd()
  return [c.bold(line(headers)), ...rows.map(line)].join('\n')
}

/** "5s", "5m", "5m 12s", "2h 5m", "3d 2h": the two most significant units. */
export function humanDuration(seconds: number): string {
  let s = Math.max(0, Math.round(seconds))
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ]
  const parts: string[] = []
  for (const [name, size] of units) {
    const n = Math.floor(s / size)
    s -= n * size
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${n}${name}`)
    if (parts.length === 2) break
  }
  if (parts.length === 0) return '0s'
  return parts.filter((p, i) => i === 0 || !p.startsWith('0')).join(' ')
}

const pad2 = (n: number): string => String(n).padStart(2, '0')

/** "12:03:01 (5m ago)"; a date is added when `ms` is not on the same local day as `now`. */
export function formatWhen(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return 'never'
  const d = new Date(ms)
  const n = new Date(now)
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  const sameDay = d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate()
  const stamp = sameDay ? time : `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${time}`
  const delta = (now - ms) / 1000
  const rel = delta >= 0 ? `${humanDuration(delta)} ago` : `in ${humanDuration(-delta)}`
  return `${stamp} (${rel})`
}

function fields(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')
}

/** HEALTHY (green), or UNHEALTHY / LIVELOCKED (red). */
export function healthWord(s: Pick<Stats, 'healthy' | 'livelocked'>, c: ChalkInstance): string {
  const words: string[] = []
  if (s.healthy !== 1) words.push('UNHEALTHY')
  if (s.livelocked) words.push('LIVELOCKED')
  return words.length === 0 ? c.green.bold('HEALTHY') : c.red.bold(words.join(', '))
}

export function renderStats(s: Stats, now: number, c: ChalkInstance): string {
  const health =
    s.healthy === 1 ? `healthy since ${formatWhen(s.healthy_since, now)}` : `unhealthy since ${formatWhen(s.unhealthy_since, now)}`
  const rows: [string, string][] = [
    ['Cluster', `${s.cluster_name} (size ${s.cluster_size})  ${healthWord(s, c)}`],
    ['Mode', s.mode === 'MUTABLE' ? s.mode : c.yellow(s.mode)],
    ['Health', health],
    ['Servers', `${s.running_servers} running, ${s.launched_servers} launched, ${s.failed_servers} failed`],
    ['Livelocks', `${s.cluster_livelocks}${s.cluster_livelocks > 0 ? `, last at ${formatWhen(s.last_livelock_at, now)}` : ''}`],
    ['Re-seeds', `${s.cluster_reseeds}${s.cluster_reseeds > 0 ? `, last at ${formatWhen(s.last_reseed_at, now)}` : ''}`],
    ['Last launch', formatWhen(s.last_launch_at, now)],
    ['Last failure', formatWhen(s.last_failure_at, now)],
    ['Counting since', formatWhen(s.stats_since, now)],
  ]
  const b = s.backup
  if (b) {
    const last = b.last_success
      ? `last ${b.last_success.id} (revision ${b.last_success.revision}) at ${formatWhen(b.last_success.at, now)}`
      : 'none yet'
    const rp = b.recovery_point_seconds === null ? '' : `, recovery point ${b.recovery_point_seconds} s`
    rows.push(['Backups', `${b.backups_taken} taken, ${b.failures_total} failed; ${last}${rp}`])
    if (b.last_failure) rows.push(['Last backup failure', `${formatWhen(b.last_failure.at, now)}: ${b.last_failure.message}`])
    if (b.failing) rows.push(['Backups failing', c.red(b.failing)])
  }
  const r = s.restore
  if (r?.op) {
    const what = r.backup ? `backup ${r.backup}${r.to_revision !== null ? ` (revision ${r.to_revision})` : ''}` : `${r.from} (resolving)`
    const rp = r.recovery_point_seconds === null ? '' : `; ${r.recovery_point_seconds} s of writes before the loss are not in it`
    rows.push(['Restore', c.yellow(`${r.op} (${r.reason}) ${r.phase}: ${what}${rp}`)])
  }
  if (r?.last) rows.push(['Last restore', `${r.last.status} ${formatWhen(r.last.at, now)}: ${r.last.message}`])
  const ro = s.rollout
  if (ro) {
    const text = `${ro.op} (${ro.reason}) ${ro.state}: ${ro.members.done.length} of ${ro.members.done.length + ro.members.pending.length + (ro.members.current ? 1 : 0)} rolled; ${ro.message}`
    rows.push(['Rollout', ro.state === 'failed' || ro.state === 'refused' ? c.red(text) : ro.state === 'done' ? text : c.yellow(text)])
  }
  return fields(rows)
}

const dash = (v: number | string | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : String(v))

export function renderMembers(members: Member[], c: ChalkInstance): string {
  if (members.length === 0) return 'no members'
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const volumes = sorted.some((m) => m.volume) // with a role (persistent volumes): two more columns
  const sizes = sorted.some((m) => typeof m.db_size === 'number') // a scheduler that reports db sizes: two more
  const rows = sorted.map((m) => {
    let state = m.is_learner ? `${m.state} (learner)` : m.state
    if (m.state === 'TASK_RUNNING') state = m.healthy === false ? c.yellow(`${state}, unhealthy`) : c.green(state)
    else state = c.red(state)
    const row = [m.name, m.host, m.client_url, m.peer_url, state, m.leader ? c.yellow('★') : '', dash(m.raft_index)]
    if (sizes) row.push(bytes(m.db_size), bytes(m.db_size_in_use))
    row.push(m.agent_id)
    return volumes ? [...row, dash(m.volume?.persistence_id), m.volume ? `${m.volume.size_mb} MB` : '-'] : row
  })
  const head = ['NAME', 'HOST', 'CLIENT URL', 'PEER URL', 'STATE', 'LEADER', 'RAFT INDEX', ...(sizes ? ['DB SIZE', 'IN USE'] : []), 'AGENT']
  const table = renderTable(volumes ? [...head, 'VOLUME', 'SIZE'] : head, rows, c)
  const why = sorted.filter((m) => m.healthy === false && m.probe_error).map((m) => `${m.name}: ${m.probe_error}`)
  const raised = sorted.filter((m) => (m.alarms ?? []).length > 0).map((m) => `${m.name}: ${m.alarms!.join(', ')}`)
  let out = why.length === 0 ? table : `${table}\n\n${c.yellow('Unhealthy:')}\n${why.map((l) => `  ${l}`).join('\n')}`
  if (raised.length > 0) out += `\n\n${c.red('Alarms:')}\n${raised.map((l) => `  ${l}`).join('\n')}`
  return out
}

/** Bytes in binary units with one decimal (`20.0 MiB`); `-` when unknown. */
export function bytes(v: number | null | undefined): string {
  if (typeof v !== 'number') return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let x = v
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${x.toFixed(1)} ${units[i]}`
}

export function renderCandidates(r: ReseedCandidates, c: ChalkInstance): string {
  const lines: string[] = [r.healthy ? `The cluster is ${c.green.bold('HEALTHY')}.` : `The cluster is ${c.red.bold('UNHEALTHY')}.`]
  const best = r.candidates[0]
  if (best) lines.push(`Seed: ${c.bold(best.name)} (${best.client_url}) — ${r.reason}`)
  else lines.push(c.red(`No member can seed: ${r.reason}`))
  if (r.candidates.length > 0) {
    const rows = r.candidates.map((m, i) => [String(i + 1), m.name, m.client_url, dash(m.raft_index), dash(m.raft_term), dash(m.revision)])
    lines.push('Candidates, best first:', renderTable(['#', 'NAME', 'CLIENT URL', 'RAFT INDEX', 'RAFT TERM', 'REVISION'], rows, c))
  }
  return lines.join('\n')
}

/** The closing line of a followed re-seed. */
export function renderReseedOutcome(op: ReseedOperation, c: ChalkInstance): string {
  const seed = op.seed ? ` (seed ${op.seed})` : ''
  const msg = op.message ? `: ${op.message}` : ''
  if (op.status === 'succeeded') return `${c.green('re-seed')} ${op.op} ${c.green('succeeded')}${seed}${msg}`
  if (op.status === 'running') return `re-seed ${op.op} is still running (phase ${op.phase ?? 'unknown'})${msg}`
  return `re-seed ${op.op} ${c.red(op.status)}${seed}${msg}`
}

export function renderFailover(f: FailoverStatus, now: number, c: ChalkInstance): string {
  const rows: [string, string][] = [['Framework', f.framework_id ?? c.yellow('(not registered yet)')]]
  if (f.subscribed) {
    rows.push(['Subscribed', `${c.green('yes')}, to master ${f.master ?? '?'} since ${formatWhen(f.subscribed_since, now)}`])
  } else {
    rows.push([
      'Subscribed',
      `${c.red('NO')}${f.disconnected_since !== null ? `, disconnected since ${formatWhen(f.disconnected_since, now)}` : ''}`,
    ])
  }
  const timeout = `${humanDuration(f.failover_timeout_seconds)} (${f.failover_timeout_seconds} s)`
  if (!f.subscribed && f.failover_remaining_seconds !== null) {
    const left = humanDuration(f.failover_remaining_seconds)
    const low = f.failover_remaining_seconds < f.failover_timeout_seconds * 0.25
    rows.push(['Failover timeout', `${timeout}; ${(low ? c.red : c.yellow)(`${left} left`)} before Mesos kills the framework's tasks`])
  } else {
    rows.push(['Failover timeout', timeout])
  }
  rows.push(['Mode', f.mode === 'MUTABLE' ? f.mode : c.yellow(f.mode)])
  const rec = f.reconciliation
  rows.push([
    'Reconciliation',
    `${rec.state === 'done' ? c.green(rec.state) : c.yellow(rec.state)} (${rec.pending_tasks} task${rec.pending_tasks === 1 ? '' : 's'} pending)`,
  ])
  const sch = f.scheduler
  rows.push(['This scheduler', sch.id])
  rows.push([
    'Leader',
    sch.leader
      ? `${sch.leader.id} on ${sch.leader.host} (${sch.leader.admin_url}) since ${formatWhen(sch.leader.since, now)}`
      : c.red('none'),
  ])
  rows.push(['Standbys', sch.standbys.length === 0 ? 'none' : sch.standbys.map((s) => `${s.id} on ${s.host} (${s.admin_url})`).join(', ')])
  return fields(rows)
}
