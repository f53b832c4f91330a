/**
 * Disk space settings end to end (issue 17) with a real `serve --master local` (3 real etcd members):
 *   - --etcd-quota-backend-bytes 64MiB, --etcd-auto-compaction-mode revision, --etcd-auto-compaction-retention 500
 *     reach EVERY member's etcd (read from /proc/<etcd pid>/cmdline);
 *   - /members shows each member's db size and size in use (from the scheduler's probes) and no alarms; /metrics the
 *     per-member sizes and etcd_mesos_alarms; the `members` command shows the DB SIZE / IN USE columns;
 *   - bad values: exit 2 with a message naming the flag.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import {etcdPids, getJson, members, until, type ServeProc} from '../helpers/serve.js'
import {runCli, startLocalServe} from '../helpers/serve-e2e.js'

const cmdline = (pid: number): string[] => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)

describe('serve: bad disk space flags', {timeout: 120_000}, () => {
  const cases: [string[], RegExp][] = [
    [['--etcd-quota-backend-bytes', '2G'], /--etcd-quota-backend-bytes "2G": unit "G" is ambiguous/],
    [['--etcd-quota-backend-bytes', '12 bananas'], /--etcd-quota-backend-bytes "12 bananas": .*not a size/],
    [['--etcd-quota-backend-bytes', '1000'], /--etcd-quota-backend-bytes "1000" must be at least 1 MiB/],
    [['--etcd-auto-compaction-mode', 'hourly'], /--etcd-auto-compaction-mode "hourly" must be periodic or revision/],
    [['--etcd-auto-compaction-retention', 'forever'], /--etcd-auto-compaction-retention "forever": with mode periodic it is a duration/],
  ]
  for (const [flags, message] of cases) {
    it(`${flags.join(' ')}: exit 2`, async () => {
      const r = await runCli(['serve', '--master', 'local', '--admin-port', '0', ...flags])
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`)
      assert.match(r.stderr.replace(/\s*\n\s*›?\s*/g, ' '), message)
    })
  }
})

describe('serve: quota and auto-compaction reach every member; /members and /metrics show the sizes', {timeout: 600_000}, () => {
  let serve: ServeProc
  let admin: string

  before(async () => {
    serve = await startLocalServe({
      cluster: 'dsk',
      size: 3,
      bootstrapWait: 3,
      args: [
        ...['--etcd-quota-backend-bytes', '64MiB', '--etcd-auto-compaction-mode', 'revision'],
        ...['--etcd-auto-compaction-retention', '500'],
      ],
    })
    admin = serve.adminUrl
  })

  after(async () => {
    await serve?.stop()
  })

  it("every member's etcd runs with the quota and the auto-compaction flags", async () => {
    const ms = await members(admin)
    assert.equal(ms.length, 3)
    for (const m of ms) {
      const pids = etcdPids(m.name)
      assert.equal(pids.length, 1, `one etcd for ${m.name}: ${pids}`)
      const argv = cmdline(pids[0]!)
      assert.ok(argv.includes(`--quota-backend-bytes=${64 * 2 ** 20}`), `${m.name}: ${argv.join(' ')}`)
      assert.ok(argv.includes('--auto-compaction-mode=revision'), `${m.name}: ${argv.join(' ')}`)
      assert.ok(argv.includes('--auto-compaction-retention=500'), `${m.name}: ${argv.join(' ')}`)
    }
  })

  it('/members: db size, size in use and no alarms; /metrics: sizes and alarms; the members table', async () => {
    type Sized = {name: string; db_size: number | null; db_size_in_use: number | null; alarms: string[] | null}
    const ms = await until(
      'every member with a db size, a size in use and a known (empty) alarm list',
      async () => {
        const r = await getJson<Sized[]>(`${admin}/members`)
        return r.body.every((m) => (m.db_size ?? 0) > 0 && (m.db_size_in_use ?? 0) > 0 && Array.isArray(m.alarms)) ? r.body : undefined
      },
      60_000,
      300,
    )
    for (const m of ms) {
      assert.ok(m.db_size_in_use! <= m.db_size!, JSON.stringify(m))
      assert.deepEqual(m.alarms, [])
    }
    const metrics = (await (await fetch(`${admin}/metrics`)).text()).split('\n')
    for (const m of ms) {
      assert.ok(
        metrics.some((l) => new RegExp(`^etcd_mesos_member_db_size_bytes\\{cluster="dsk",member="${m.name}"\\} [1-9]\\d*$`).test(l)),
        `db size metric of ${m.name}`,
      )
      assert.ok(metrics.some((l) => l.startsWith(`etcd_mesos_member_db_size_in_use_bytes{cluster="dsk",member="${m.name}"} `)))
    }
    assert.ok(metrics.includes('etcd_mesos_alarms{cluster="dsk",alarm="NOSPACE"} 0'), 'NOSPACE alarm gauge 0')
    const table = await runCli(['members', '--admin-url', admin])
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout.split('\n')[0]!, /RAFT INDEX\s+DB SIZE\s+IN USE\s+AGENT/)
    assert.doesNotMatch(table.stdout, /Alarms:/)
  })
})
