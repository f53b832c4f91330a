/**
 * Freezing a test ZooKeeper (helpers/zookeeper.ts) as an operator would see an outage: SIGSTOP its java
 * process (clients' TCP connects still succeed, nothing answers; sessions time out), then SIGCONT (the
 * server finds every session older than its timeout expired). The pid is found by the server's zoo.cfg
 * path in /proc; `freeze()` returns a `thaw()` that is idempotent and safe in `finally`.
 */
import fs from 'node:fs'
import path from 'node:path'
import type {ZkServer} from './zookeeper.js'

/** The pid of the java process serving `zk` (its command line names the server's zoo.cfg). */
export function zkPid(zk: ZkServer): number {
  const cfg = path.join(path.dirname(zk.dataDir), 'zoo.cfg')
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    let argv: string[] = []
    try {
      argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (argv.includes(cfg) && argv.some((a) => a.endsWith('QuorumPeerMain'))) return Number(d)
  }
  throw new Error(`no ZooKeeper process runs ${cfg}`)
}

/** SIGSTOPs the ZooKeeper server; the returned function SIGCONTs it (idempotent). */
export function freeze(zk: ZkServer): () => void {
  const pid = zkPid(zk)
  process.kill(pid, 'SIGSTOP')
  let thawed = false
  return () => {
    if (thawed) return
    thawed = true
    try {
      process.kill(pid, 'SIGCONT')
    } catch {
      /* gone */
    }
  }
}
