/** The `backup` / `backups list` flows (src/lib/cli/backup.ts) against a canned admin API: outcomes and exit codes. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {withCannedApi} from '../helpers/admin-harness.js'
import {backupExitCode, runBackup, runBackupsList, type BackupOptions} from '../../src/lib/cli/backup.js'
import {CliError, ExitCode} from '../../src/lib/cli/exit-codes.js'

const lines: string[] = []
const io = {json: false, log: (t: string) => lines.push(t), warn: (t: string) => lines.push(t)}
const opts: BackupOptions = {wait: true, waitTimeoutSeconds: 60, pollMs: 20, followHint: (op) => `follow ${op}`}
const manifest = {id: '20261203T141632.123Z-r42', kind: 'full', createdAt: '2026-12-03T14:16:32.123Z', revision: 42, size: 24608}
const op = (status: string, extra: object = {}) => ({
  op: 'op1',
  status,
  message: null,
  manifest: null,
  created_at: 1,
  updated_at: 2,
  ...extra,
})

describe('cli backup', () => {
  it('exit codes of the outcomes', () => {
    assert.deepEqual(
      ['succeeded', 'failed', 'not_finished'].map((o) => backupExitCode(o as 'failed')),
      [0, 1, 4],
    )
  })

  it('started, followed to success', async () => {
    let polls = 0
    await withCannedApi(
      (m, p) =>
        m === 'POST' && p === '/backups'
          ? {status: 202, body: {op: 'op1'}}
          : p === '/backups/op/op1'
            ? {status: 200, body: ++polls < 3 ? op('running') : op('succeeded', {manifest})}
            : {status: 404, body: {error: 'no'}},
      async (client) => {
        const r = await runBackup(client, opts, {...io, json: true})
        assert.equal(r.outcome, 'succeeded')
        assert.equal(r.operation?.manifest?.id, manifest.id)
        assert.ok(polls >= 3)
      },
    )
  })

  it('a failed backup: outcome failed (exit 1) with its message', async () => {
    await withCannedApi(
      (m) => (m === 'POST' ? {status: 202, body: {op: 'op1'}} : {status: 200, body: op('failed', {message: 'IO: disk full'})}),
      async (client) => {
        const r = await runBackup(client, opts, io)
        assert.equal(r.outcome, 'failed')
        assert.match(lines.join('\n'), /backup failed: IO: disk full/)
      },
    )
  })

  it('--no-wait and --wait-timeout: not finished (exit 4) with the follow hint', async () => {
    await withCannedApi(
      (m) => (m === 'POST' ? {status: 202, body: {op: 'op1'}} : {status: 200, body: op('running')}),
      async (client) => {
        assert.equal((await runBackup(client, {...opts, wait: false}, io)).outcome, 'not_finished')
        assert.equal((await runBackup(client, {...opts, waitTimeoutSeconds: 1}, {...io, json: true})).outcome, 'not_finished')
        assert.match(lines.join('\n'), /follow op1/)
      },
    )
  })

  it('refused: one running (409) and no backup target / standby (503) are exit 6', async () => {
    for (const [status, code] of [
      [409, 'BACKUP_RUNNING'],
      [503, 'BACKUPS_UNAVAILABLE'],
    ] as const) {
      await withCannedApi(
        () => ({status, body: {error: `refused ${status}`}}),
        async (client) => {
          await assert.rejects(
            runBackup(client, opts, io),
            (e: Error) => e instanceof CliError && e.exitCode === ExitCode.REFUSED && e.code === code && e.message === `refused ${status}`,
          )
        },
      )
    }
  })

  it('backups list: a table newest first; 503 is exit 6', async () => {
    const entry = {
      id: manifest.id,
      kind: 'full',
      created_at: manifest.createdAt,
      revision: 42,
      size: 24608,
      verified: true,
      base_id: null,
      member_id: '1',
    }
    await withCannedApi(
      () => ({status: 200, body: {target: 'file:///b', backups: [entry], invalid: [{name: 'x.manifest.json', error: 'bad'}]}}),
      async (client) => {
        lines.length = 0
        const doc = await runBackupsList(client, io)
        assert.equal(doc.backups.length, 1)
        assert.match(lines[0]!, /ID\s+TIME\s+REVISION\s+SIZE\s+KIND\s+VERIFIED/)
        assert.match(lines[0]!, /20261203T141632\.123Z-r42\s+2026-12-03T14:16:32\.123Z\s+42\s+24608\s+full\s+yes/)
        assert.match(lines[1]!, /x\.manifest\.json is not a valid backup manifest: bad/)
      },
    )
    await withCannedApi(
      () => ({status: 503, body: {error: 'backups are not configured (no --backup-target)'}}),
      async (client) => {
        await assert.rejects(runBackupsList(client, io), (e: Error) => e instanceof CliError && e.exitCode === ExitCode.REFUSED)
      },
    )
  })
})
