/**
 * Runs the resilience matrix (every scenario × --reps) and a soak, and writes RESILIENCE.md.
 *   node --import tsx scripts/resilience.ts [--reps 3] [--soak 300] [--only name[,name]] [--out RESILIENCE.md] [--no-write]
 *     [--with-role ROLE [--role-reps N] [--no-plain]]
 * --with-role: the matrix runs a second time with `serve --framework-role ROLE` (reservations and persistent volumes),
 * each scenario followed by the leak check (test/resilience/leaks.ts); --no-plain skips the first pass (trials).
 * Needs a current build (npx tsc -p tsconfig.json && npx oclif manifest), etcd and ZooKeeper installed.
 * Exit code 0 when every row passed, 1 otherwise. Logs of failed scenarios go to $TMPDIR/resilience-logs/.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {ScenarioResult, Shared} from '../test/resilience/harness.js'
import {runScenario, teardownActive} from '../test/resilience/run.js'
import {ALL_SCENARIOS, NOT_COVERED, scenario} from '../test/resilience/scenarios.js'
import {SOAK_FAULTS, runSoak, type SoakReport} from '../test/resilience/soak.js'
import {onInterrupt} from '../test/helpers/procs.js'
import {ETCD_BIN} from '../test/helpers/serve.js'
import {destroyZooKeeper, fourLetterWord, startZooKeeper, type ZkServer} from '../test/helpers/zookeeper.js'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const reps = Number(arg('reps') ?? 3)
const soakSec = Number(arg('soak') ?? 300)
const only = arg('only')
  ?.split(',')
  .filter((s) => s !== '')
const out = arg('out') ?? 'RESILIENCE.md'
const write = !process.argv.includes('--no-write')
const role = arg('with-role')
const roleReps = Number(arg('role-reps') ?? reps)
const plain = !process.argv.includes('--no-plain')
if (!Number.isInteger(reps) || reps < 1 || !Number.isFinite(soakSec) || soakSec < 0) {
  process.stderr.write('usage: scripts/resilience.ts [--reps N>=1] [--soak SECONDS>=0] [--only a,b] [--out FILE] [--no-write]\n')
  process.exit(2)
}
if (role !== undefined && (!/^[a-z][a-z0-9_-]{0,63}$/.test(role) || !Number.isInteger(roleReps) || roleReps < 1)) {
  process.stderr.write('--with-role needs a role name ([a-z][a-z0-9_-]*) and --role-reps N>=1\n')
  process.exit(2)
}
const defs = only ? only.map(scenario) : ALL_SCENARIOS

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]!
}
const sec = (ms: number | null): string => (ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`)
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

// Interrupted: tear down the running scenario (its serve, local Mesos, executors and etcd) before exiting.
onInterrupt(async () => {
  process.stderr.write('resilience: interrupted: tearing down the running scenario\n')
  await teardownActive()
})

/** The first line of `cmd args` (stdout or stderr) matching `re`, its first group; 'unknown (…)' when none. */
function measured(cmd: string, args: string[], re: RegExp): string {
  const r = spawnSync(cmd, args, {encoding: 'utf8', timeout: 15_000})
  const m = re.exec(`${r.stdout ?? ''}\n${r.stderr ?? ''}`)
  return m ? m[1]!.trim() : `unknown (\`${cmd} ${args.join(' ')}\` answered ${r.error ? r.error.message : `exit ${r.status}`})`
}

/** Versions as measured on this machine (never written in by hand): the binaries and the ZooKeeper server the run uses. */
async function measureVersions(zk: ZkServer): Promise<string> {
  // Right after its start ZooKeeper may answer "not currently serving requests": ask again for up to 15 s.
  let srvr = ''
  for (let i = 0; i < 30 && !/Zookeeper version:/.test(srvr); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 500))
    srvr = await fourLetterWord(zk.port, 'srvr')
  }
  const zkVersion =
    /Zookeeper version:\s*([^,\n]+)/.exec(srvr)?.[1]?.trim() ?? `unknown (srvr answered ${JSON.stringify(srvr.slice(0, 80))})`
  return [
    `Node ${measured(process.execPath, ['--version'], /^(v\S+)/m)}`,
    `etcd ${measured(ETCD_BIN, ['--version'], /etcd Version:\s*(\S+)/)} (${ETCD_BIN})`,
    `etcdctl ${measured(process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl', ['version'], /etcdctl version:\s*(\S+)/)}`,
    `ZooKeeper ${zkVersion} (its \`srvr\` answer)`,
    `Java ${measured('java', ['-version'], /version "([^"]+)"/)}`,
  ].join(', ')
}

async function main(): Promise<number> {
  const started = new Date()
  const zk = await startZooKeeper()
  const versions = await measureVersions(zk)
  const shared: Shared = {zk, logDir: path.join(os.tmpdir(), 'resilience-logs')}
  const rows: Row[] = []
  const roleRows: Row[] = []
  let soak: SoakReport | null = null
  const passes: [Row[], Shared, number][] = []
  if (plain) passes.push([rows, shared, reps])
  if (role) passes.push([roleRows, {...shared, role}, roleReps])
  try {
    for (const [into, sh, n] of passes)
      for (const d of defs) {
        const results: ScenarioResult[] = []
        for (let r = 0; r < n; r++) {
          const res = await runScenario(d, sh)
          results.push(res)
          process.stdout.write(
            `${res.ok ? 'ok  ' : 'FAIL'} ${d.name} #${r + 1}: recovery ${sec(res.recoveryMs)}, acked ${res.writesAcked}, lost ${res.writesLost}, lost by re-seed ${res.lostByReseed}, longest unavailable ${sec(res.longestUnavailableMs)} (${sec(res.durationMs)})\n`,
          )
          for (const f of res.failures) process.stdout.write(`     failure: ${f}\n`)
          for (const n of res.notes) process.stdout.write(`     note: ${n}\n`)
        }
        into.push({name: d.name, description: d.description, results})
      }
    if (soakSec > 0) {
      soak = await runSoak(soakSec * 1000, shared)
      process.stdout.write(
        `${soak.ok ? 'ok  ' : 'FAIL'} soak: ${soak.faultsInjected} faults injected, ${soak.faultsSurvived} survived, acked ${soak.writesAcked}, lost ${soak.writesLost}, longest unavailable ${sec(soak.longestUnavailableMs)}\n`,
      )
      for (const f of soak.failures) process.stdout.write(`     failure: ${f}\n`)
    }
  } finally {
    await destroyZooKeeper(zk)
  }
  const allOk = [...rows, ...roleRows].every((r) => r.results.every((x) => x.ok)) && (soak?.ok ?? true)
  if (write) fs.writeFileSync(out, render(rows, roleRows, soak, started, versions))
  return allOk ? 0 : 1
}

/** Static: where the load, bad-input and security evidence of issue 6 lives (figures vary per machine and run). */
const OTHER_EVIDENCE = [
  '## Load, bad input, security (separate commands)',
  '',
  "- offer storm: `node --expose-gc --import tsx bench/offer-storm.bench.ts 10000 3` (decision time and heap for 10,000 agents' offers, against a JSON.parse floor)",
  '- admin API under load while a scenario runs: `node --import tsx bench/admin-during-fault.bench.ts` (the real `serve`, healthy vs. while the leader is killed and replaced); the admin server `serve` runs (buildAdminServer) against a bare node:http floor: `node --import tsx bench/admin-load.bench.ts`',
  '- bad input: the fuzz tests `node --import tsx --test test/unit/fuzz-*.test.ts test/e2e/fuzz-flags.test.ts` (RecordIO, JSON and protobuf event decoders, the scheduler client fed garbage, the admin API over raw sockets, executor task data, zk:// URLs and master addresses, flags; `FUZZ_SEED=n` to vary)',
  '- security: `node --import tsx --test test/integration/security.test.ts test/integration/tls.test.ts` (admin token, loopback-only mutations, ZooKeeper digest ACLs, no secret in logs or answers, etcd client and peer TLS end to end with certificates generated by the test)',
  '',
]

function gitCommit(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
    return dirty ? `${rev} (with uncommitted changes)` : rev
  } catch {
    return 'unknown (not a git checkout)'
  }
}

type Row = {name: string; description: string; results: ScenarioResult[]}

function render(rows: Row[], roleRows: Row[], soak: SoakReport | null, started: Date, versions: string): string {
  const cmd = `node --import tsx scripts/resilience.ts ${process.argv.slice(2).join(' ')}`.trim()
  const L: string[] = []
  L.push('# Resilience', '')
  L.push(
    'Generated by `scripts/resilience.ts` (harness: `test/resilience/`; the short CI version is `test/integration/resilience.test.ts`).',
    '',
  )
  L.push(`- command: \`${cmd}\` at commit ${gitCommit()}`)
  L.push(
    `- date: ${started.toISOString()} (took ${Math.round((Date.now() - started.getTime()) / 60000)} min); host: ${os.cpus().length} CPUs; measured versions: ${versions}`,
  )
  L.push(
    '- setup per scenario: fresh cluster name, in-process local Mesos (5 agents, 7 for a 5-member cluster; agent removed after 3 s unreachable), `serve` as a subprocess with `--cluster-size 3` (5 for reseed-survivors-differ) `--health-interval 1 --bootstrap-wait 3 --reseed-timeout 15 --member-grace 5`, a writer putting one key every ~20 ms through any member (failover between members, 1 s timeout per put)',
  )
  L.push(
    "- network faults (blackhole-*, delay-*-peer, member-add-timeout-but-applied, scheduler-partitioned-from-etcd, the soak): `serve --etcd-bin` is a wrapper (test/resilience/etcd-wrapper.ts) that runs the real etcd on internal ports behind controllable TCP proxies on its advertised peer and client ports (blackhole, delay, drop answers), like the proxies of etcd's functional tester; no product change",
  )
  L.push(
    "- checker after each scenario: every acknowledged write present with its value (linearizable read). A re-seed is what the harness itself sees (every member's status and member list polled from etcd every ~250 ms): a member forced into a one-member cluster; its revision and raft index just before (taken during the quorum loss, no leader) bound the old history, and must be the highest of the survivors' as read by the harness; every write acknowledged after that reading must survive; old-history writes above the seed's revision are reported apart as \"lost by re-seed\"; a revision going back with no re-seed seen is a failure. Then: every member the same `hashkv` at the same revision; the etcd member list = the cluster size in started voters; as many etcd processes; `/stats` consistent with the fault (re-seeds, livelock episodes, failed and launched tasks)",
  )
  L.push(
    "- recovery = fault injected → first write acknowledged after the cluster is healthy again with 3 voting members (and the scenario's own condition, e.g. the replacement launched); longest unavailability = longest gap between two acknowledged writes",
    '',
  )
  L.push(...table(rows, false))
  L.push(...restoreTable([...rows, ...roleRows.map((r) => ({...r, name: `${r.name} (role ${role})`}))]))
  if (roleRows.length > 0) {
    L.push(`## With a role: reservations and persistent volumes`, '')
    L.push(
      `The same scenarios with \`serve --framework-role ${role}\`: every member's resources dynamically reserved and its data on a persistent volume. After each scenario the leak check counts, from the master's own \`/master/slaves\`, volumes and reservations of the role on agents where no member runs (waiting up to 90 s for the scheduler to release them).`,
      '',
    )
    L.push(...table(roleRows, true))
  }
  renderSoak(L, soak)
  L.push(...OTHER_EVIDENCE)
  L.push('## Not covered', '')
  for (const n of NOT_COVERED) L.push(`- **${n.name}**: ${n.why}`)
  L.push('')
  return L.join('\n')
}

function table(rows: Row[], withLeaks: boolean): string[] {
  const L: string[] = []
  L.push(
    `| scenario | reps | ok | median / max recovery | writes acked | writes lost | lost by re-seed | longest unavailability |${withLeaks ? ' leaked reservations / volumes |' : ''} notes |`,
    `|---|---|---|---|---|---|---|---|${withLeaks ? '---|' : ''}---|`,
  )
  for (const r of rows) {
    const okN = r.results.filter((x) => x.ok).length
    const rec = r.results.map((x) => x.recoveryMs).filter((x): x is number => x !== null)
    const notes = [
      ...new Set(
        r.results.flatMap((x) => [
          ...x.failures.map((f) => `FAILED: ${f}`),
          ...x.notes.filter((n) => !n.startsWith('stats:') && !n.startsWith('logs:')),
        ]),
      ),
    ]
    const leaks = withLeaks ? ` ${r.results.reduce((a, x) => a + (x.leaks ?? 0), 0)} |` : ''
    L.push(
      `| **${r.name}** — ${cell(r.description)} | ${r.results.length} | ${okN}/${r.results.length} | ${sec(median(rec))} / ${sec(rec.length ? Math.max(...rec) : null)} | ${r.results.reduce((a, x) => a + x.writesAcked, 0)} | ${r.results.reduce((a, x) => a + x.writesLost, 0)} | ${r.results.reduce((a, x) => a + x.lostByReseed, 0)} | ${sec(Math.max(...r.results.map((x) => x.longestUnavailableMs)))} |${leaks} ${cell(notes.join('; ').slice(0, 900))} |`,
    )
  }
  L.push('')
  return L
}

/** The backup/restore rows again, with what only they have: the recovery point (restore-check.ts). */
function restoreTable(rows: Row[]): string[] {
  const rs = rows.filter((r) => r.results.some((x) => x.recoveryPointMs !== undefined))
  if (rs.length === 0) return []
  const L: string[] = ['## Backup and restore: recovery point and time', '']
  L.push(
    'serve backs up to a file:// target outside the agents (`--backup-interval 15s --backup-delta-interval 2s`; 6 agents, so that 3 spare ones can take a restored cluster). Recovery point = seconds of acknowledged writes before the loss that are not in the restored data, measured by the harness from its own writes (writes at or below the restored revision must all be present, none above it). Time to healthy = the fault → the first write acknowledged by the restored cluster; for an automatic restore it includes `--reseed-timeout` (15 s) of TOTAL_LOSS before the restore starts. In manual-restore-to-revision the "recovery point" is the writes after the revision chosen, rolled back on purpose.',
    '',
    '| scenario | reps | ok | median / max recovery point | median / max time to healthy | writes lost (at or below the restored revision, or after) |',
    '|---|---|---|---|---|---|',
  )
  for (const r of rs) {
    const rp = r.results.map((x) => x.recoveryPointMs).filter((x): x is number => typeof x === 'number')
    const rec = r.results.map((x) => x.recoveryMs).filter((x): x is number => x !== null)
    L.push(
      `| ${r.name} | ${r.results.length} | ${r.results.filter((x) => x.ok).length}/${r.results.length} | ${sec(median(rp))} / ${sec(rp.length ? Math.max(...rp) : null)} | ${sec(median(rec))} / ${sec(rec.length ? Math.max(...rec) : null)} | ${r.results.reduce((a, x) => a + x.writesLost, 0)} |`,
    )
  }
  L.push('')
  return L
}

function renderSoak(L: string[], soak: SoakReport | null): void {
  if (soak) {
    L.push('## Soak', '')
    L.push(
      `Random faults for ${soakSec} s, one cluster, the writer running throughout, every member behind the TCP proxies of the net scenarios, faults drawn at random from: ${SOAK_FAULTS.join(', ')} (each waits for recovery before the next).`,
      '',
    )
    L.push('| faults injected | faults survived | writes acked | writes lost | longest unavailability | ok |', '|---|---|---|---|---|---|')
    L.push(
      `| ${soak.faultsInjected} | ${soak.faultsSurvived} | ${soak.writesAcked} | ${soak.writesLost} | ${sec(soak.longestUnavailableMs)} | ${soak.ok ? 'yes' : 'NO'} |`,
      '',
    )
    const counts = new Map<string, number>()
    for (const f of soak.faultLog) counts.set(f.fault, (counts.get(f.fault) ?? 0) + 1)
    L.push(`Faults: ${[...counts].map(([k, v]) => `${k} × ${v}`).join(', ')}.`)
    if (soak.failures.length > 0) L.push('', `Failures: ${soak.failures.map(cell).join('; ')}`)
    L.push('')
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`resilience: ${err.stack}\n`)
    process.exit(10)
  },
)
