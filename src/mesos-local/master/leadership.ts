/**
 * Leadership of the local master (Mesos' Master::_recover and the abort on a lost election, made gentle):
 *   follower --becomeLeader--> leader: the allocation cycle runs every allocation interval (offers.ts allocate);
 *     the caller then recovers the agents the registry lists (agent-lifecycle.ts recoverAgents).
 *   leader --stepDown--> follower (this master stopping, or another master leads): every timer of the master
 *     stops and every framework stream is closed; nothing happens any more (state.ts: not `leading`).
 */
import {allocate} from './offers.js'
import {log, type MasterState} from './state.js'

/** Returns true when this master was not leading before (the caller then recovers agents). */
export function becomeLeader(m: MasterState): boolean {
  if (m.leading) return false
  m.leading = true
  m.electedTime = Date.now() / 1000
  m.allocTimer = setInterval(() => allocate(m), Math.max(1, m.config.allocationIntervalMs))
  m.allocTimer.unref()
  log(m, 'elected leader')
  return true
}

/** Stops every timer and closes every stream (master stopping or losing leadership). */
export function stepDown(m: MasterState): void {
  m.leading = false
  if (m.allocTimer) clearInterval(m.allocTimer)
  for (const t of m.timers) clearTimeout(t)
  m.timers.clear()
  for (const fw of m.frameworks.values()) {
    if (fw.failoverTimer) clearTimeout(fw.failoverTimer)
    const s = fw.stream
    fw.stream = null
    if (s) {
      s.onClientClose = undefined
      s.close()
    }
  }
  for (const a of m.agents.values()) if (a.removalTimer) clearTimeout(a.removalTimer)
}
