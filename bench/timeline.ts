/**
 * Timelines for bench/scheduler.bench.ts, read from what the processes log anyway (no bench-only product code):
 *  - serve's log lines (ISO time stamps): admin API up, SUBSCRIBED, the ACCEPTs ("launching etcd member",
 *    logged in the core step that took the offers), "member task running", the health verdicts;
 *  - per member, while it runs: its executor's start time (/proc/<pid>/stat of etcd's parent, against
 *    /proc/uptime), the executor's stderr in its sandbox (code loaded, SUBSCRIBED, LAUNCH, etcd spawned,
 *    TASK_RUNNING) and etcd's own log there ("ready to serve client requests").
 * A milestone is the time (ms after t0) of the first and of the last member reaching it; a member's
 * bootstrap is as slow as its last member.
 */
import fs from 'node:fs'
import path from 'node:path'
import {etcdPids} from '../test/helpers/serve.js'

export interface Milestone {
  name: string
  first: number
  last: number
}

interface Line {
  at: number
  text: string
}

/** serve's log lines with their time (ms since the epoch). */
function serveLines(log: string): Line[] {
  const out: Line[] = []
  for (const l of log.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/.exec(l)
    if (m) out.push({at: Date.parse(m[1]!), text: m[2]!})
  }
  return out
}

/** Times of the lines matching `re` (executor stderr: ISO stamps; etcd 3.4 capnslog: local time, microseconds). */
function stamped(text: string, re: RegExp): number[] {
  const out: number[] = []
  for (const l of text.split('\n')) {
    if (!re.test(l)) continue
    const iso = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(l)
    if (iso) out.push(Date.parse(iso[1]!))
    const cap = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(l)
    if (cap) out.push(new Date(`${cap[1]}T${cap[2]}`).getTime()) // no zone: local time, as etcd prints it
  }
  return out
}

function read(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}

/** When process `pid` started (ms since the epoch, ±10 ms), or undefined. */
function processStart(pid: number): number | undefined {
  try {
    const stat = read(`/proc/${pid}/stat`)
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    const uptimeSec = Number(read('/proc/uptime').split(' ')[0])
    const boot = Date.now() - uptimeSec * 1000
    return boot + (startTicks / 100) * 1000 // USER_HZ is 100 on Linux
  } catch {
    return undefined
  }
}

function parentOf(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`)
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  return Number.isFinite(ppid) && ppid > 1 ? ppid : undefined
}

/** Per member (running now): executor start and the milestones of its sandbox logs. */
export function memberMarks(name: string): Record<string, number | undefined> {
  const pid = etcdPids(name)[0]
  if (pid === undefined) return {}
  const sandbox = fs.readlinkSync(`/proc/${pid}/cwd`)
  const exe = parentOf(pid)
  const ex = read(path.join(sandbox, 'stderr'))
  const etcd = read(path.join(sandbox, 'etcd.stderr'))
  const first = (t: string, re: RegExp): number | undefined => stamped(t, re)[0]
  const last = (t: string, re: RegExp): number | undefined => stamped(t, re).at(-1)
  return {
    'executor process started': exe === undefined ? undefined : processStart(exe),
    'executor code loaded (first log line)': first(ex, /etcd-mesos executor: starting:/),
    'executor SUBSCRIBED': first(ex, /etcd-mesos executor: subscribed \(agent/),
    LAUNCH: first(ex, /etcd-mesos executor: LAUNCH /),
    'etcd spawned': last(ex, /etcd-mesos executor: etcd started \(pid/),
    'etcd serving (its own log)': last(etcd, /ready to serve client requests/),
    'TASK_RUNNING sent by the executor': last(ex, /TASK_RUNNING/),
  }
}

function span(name: string, xs: (number | undefined)[], t0: number): Milestone | undefined {
  const ok = xs.filter((x): x is number => x !== undefined)
  if (ok.length === 0) return undefined
  return {name, first: Math.min(...ok) - t0, last: Math.max(...ok) - t0}
}

/** Lines of serve's log after `since` whose text matches `re`: their times. */
function serveTimes(lines: Line[], re: RegExp, since: number): number[] {
  return lines.filter((l) => l.at >= since && re.test(l.text)).map((l) => l.at)
}

/** The bootstrap: serve spawned at t0 (ms since the epoch); `names` the members now running; `doneAt` when the bench saw it healthy. */
export function bootstrapTimeline(t0: number, serveLog: string, names: string[], doneAt: number): Milestone[] {
  const lines = serveLines(serveLog)
  const marks = names.map(memberMarks)
  const per = (k: string): (number | undefined)[] => marks.map((m) => m[k])
  const firstOf = (re: RegExp): number[] => serveTimes(lines, re, t0).slice(0, 1)
  const verdict = serveTimes(lines, /^(INFO|WARN) cluster (healthy|unhealthy)/, t0)[0]
  const rows: (Milestone | undefined)[] = [
    span('serve: admin API listening', firstOf(/admin API listening/), t0),
    span('SUBSCRIBED (framework)', firstOf(/subscribed as framework/), t0),
    span('offers → ACCEPT (one core step)', serveTimes(lines, /launching etcd member/, t0).slice(0, names.length), t0),
    span('executor process started', per('executor process started'), t0),
    span('executor code loaded', per('executor code loaded (first log line)'), t0),
    span('executor SUBSCRIBED', per('executor SUBSCRIBED'), t0),
    span('LAUNCH at the executor', per('LAUNCH'), t0),
    span('etcd spawned', per('etcd spawned'), t0),
    span('etcd serving (its own log)', per('etcd serving (its own log)'), t0),
    span('TASK_RUNNING (executor)', per('TASK_RUNNING sent by the executor'), t0),
    span('TASK_RUNNING (scheduler)', serveTimes(lines, /member task running/, t0).slice(0, names.length), t0),
    span('first health verdict', verdict === undefined ? [] : [verdict], t0),
    span('cluster healthy (scheduler)', firstOf(/INFO cluster healthy/), t0),
    span('bench: /stats + /members healthy', [doneAt], t0),
  ]
  return rows.filter((r): r is Milestone => r !== undefined)
}

/**
 * The replacement of a SIGKILLed member: t1 when etcd was killed. serve's log: the failure seen, the member
 * removed, the new member added and launched, its TASK_RUNNING, its promotion, health; the new member's sandbox.
 */
export function replacementTimeline(t1: number, serveLog: string, newName: string | undefined, doneAt: number): Milestone[] {
  const lines = serveLines(serveLog)
  const at = (re: RegExp): number[] => serveTimes(lines, re, t1).slice(0, 1)
  const m = newName === undefined ? {} : memberMarks(newName)
  const rows: (Milestone | undefined)[] = [
    span('failure seen (member task ended)', at(/member task ended/), t1),
    span('MEMBER_REMOVE sent', at(/removing etcd member/), t1),
    span('member removed', at(/etcd member removed|etcd member already gone/), t1),
    span('MEMBER_ADD sent (learner)', at(/adding etcd member before launching it/), t1),
    span('member added', at(/INFO etcd member added/), t1),
    span('ACCEPT (launching etcd member)', at(/launching etcd member/), t1),
    span('executor process started', [m['executor process started']], t1),
    span('executor SUBSCRIBED', [m['executor SUBSCRIBED']], t1),
    span('etcd spawned', [m['etcd spawned']], t1),
    span('etcd serving (its own log)', [m['etcd serving (its own log)']], t1),
    span('TASK_RUNNING (scheduler)', at(/member task running/), t1),
    span('learner promoted', at(/learner promoted to voting member/), t1),
    span('cluster healthy (scheduler)', at(/INFO cluster healthy/), t1),
    span('bench: /stats + /members healthy', [doneAt], t1),
  ]
  return rows.filter((r): r is Milestone => r !== undefined)
}
