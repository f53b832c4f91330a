/**
 * The read-only operator commands (`stats`, `members`, `failover-status`): GET one admin document, print
 * it for humans (tables, colour by render.ts) or return it as is for `--json`. The oclif commands and the
 * fast path (fast-path.ts) both run these, so both print the same thing and end with the same exit code.
 */
import type {AdminClient} from './admin-client.js'
import {ExitCode} from './exit-codes.js'
import {getDocument, type FailoverStatus, type Member, type Stats} from './types.js'

/** Where a command writes: under `json`, log and warn print nothing (the returned document is the output). */
export interface CommandIo {
  json: boolean
  log(text: string): void
  warn(text: string): void
}

/** `stats`; with `check`, sets exit code 4 when the cluster is not healthy. */
export async function showStats(client: AdminClient, io: CommandIo, opts: {check: boolean}): Promise<Stats> {
  const stats = await getDocument(client, '/stats')
  if (!io.json) {
    const {colours, renderStats} = await import('./render.js')
    io.log(renderStats(stats, Date.now(), colours()))
  }
  if (opts.check && stats.healthy !== 1) {
    process.exitCode = ExitCode.UNHEALTHY
    if (!io.json) io.warn(`cluster ${stats.cluster_name} is not healthy`)
  } else if (opts.check && stats.backup?.failing) {
    process.exitCode = ExitCode.BACKUPS_FAILING
    if (!io.json) io.warn(`cluster ${stats.cluster_name}: backups keep failing: ${stats.backup.failing}`)
  } else if (opts.check && stats.rollout?.state === 'failed') {
    process.exitCode = ExitCode.ROLLOUT_FAILED
    if (!io.json) io.warn(`cluster ${stats.cluster_name}: the last rollout (${stats.rollout.op}) failed: ${stats.rollout.message}`)
  }
  return stats
}

/** `members`, sorted by name in the table. */
export async function showMembers(client: AdminClient, io: CommandIo): Promise<Member[]> {
  const members = await getDocument(client, '/members')
  if (!io.json) {
    const {colours, renderMembers} = await import('./render.js')
    io.log(renderMembers(members, colours()))
  }
  return members
}

/** `failover-status`. */
export async function showFailover(client: AdminClient, io: CommandIo): Promise<FailoverStatus> {
  const status = await getDocument(client, '/failover-status')
  if (!io.json) {
    const {colours, renderFailover} = await import('./render.js')
    io.log(renderFailover(status, Date.now(), colours()))
  }
  return status
}
