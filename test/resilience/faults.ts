/**
 * Process-level fault primitives for the resilience scenarios (loopback only, no iptables):
 * SIGKILL of a member's etcd or of its executor, SIGSTOP/SIGCONT pauses, and "flapping" (repeated short
 * pauses) which delays ALL of one member's traffic, peer traffic included.
 *
 * Pausing the process cuts (SIGSTOP) or delays (flapping) ALL of a member's traffic, peer and client alike.
 * Network faults on one kind of traffic only (a member's peer port blackholed or delayed, the answers of
 * the client port dropped) go through the TCP proxies of etcd-wrapper.ts instead: netfaults.ts, used by
 * scenarios-net.ts (like BLACKHOLE_PEER_PORT_TX_RX / DELAY_PEER_PORT_TX_RX in etcd's functional tester).
 */
import fs from 'node:fs'
import {etcdPids, killEtcd} from '../helpers/serve.js'
import {sleep} from './harness.js'

export {killEtcd}

function ppid(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

function onePid(member: string): number {
  const ps = etcdPids(member)
  if (ps.length !== 1) throw new Error(`expected one etcd process for member ${member}, found ${ps.length}`)
  return ps[0]!
}

/** The executor running member `name`: the parent of its etcd (setpriv execs etcd in place), or the
 *  grandparent when etcd runs behind the proxy wrapper of the net scenarios (etcd-wrapper.ts). */
export function executorPid(member: string): number {
  let p = onePid(member)
  for (let up = 0; up < 2; up++) {
    p = ppid(p)
    const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')
    if (argv.includes('executor')) return p
  }
  throw new Error(`no executor among the parent and grandparent of etcd ${member}`)
}

export function killExecutor(member: string): number {
  const p = executorPid(member)
  process.kill(p, 'SIGKILL')
  return p
}

/** SIGSTOP the member's etcd for `ms`, then SIGCONT. */
export async function pause(member: string, ms: number): Promise<void> {
  const p = onePid(member)
  process.kill(p, 'SIGSTOP')
  try {
    await sleep(ms)
  } finally {
    try {
      process.kill(p, 'SIGCONT')
    } catch {
      /* gone */
    }
  }
}

/** Repeated pauses: `stopMs` stopped, `runMs` running, for `totalMs` (a delayed, jittery member). */
export async function flap(member: string, totalMs: number, stopMs: number, runMs: number): Promise<void> {
  const p = onePid(member)
  const end = Date.now() + totalMs
  try {
    while (Date.now() < end) {
      process.kill(p, 'SIGSTOP')
      await sleep(stopMs + Math.floor(Math.random() * stopMs * 0.2))
      process.kill(p, 'SIGCONT')
      await sleep(runMs)
    }
  } finally {
    try {
      process.kill(p, 'SIGCONT')
    } catch {
      /* gone */
    }
  }
}
