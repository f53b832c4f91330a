/**
 * `serve --auto-rollout`, `--rollout-member-timeout`, `--etcd-version` (rolling upgrades, core/rollout.ts): the flag
 * specs, their resolution into the core's settings (a bad value is a RolloutFlagError: serve exits 2 naming the flag),
 * and `detectEtcdVersion`, which runs `<etcd-bin> --version` on the scheduler's host to learn the target version.
 */
import {execFile} from 'node:child_process'
import {bool, int, str} from '../lib/cli/flag-spec.js'
import {formatVersion, parseVersion} from '../lib/etcd/versions.js'

export class RolloutFlagError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RolloutFlagError'
  }
}

export const serveRolloutFlags = {
  'auto-rollout': bool({
    summary:
      'Roll members whose spec (--etcd-bin and its version, resources, TLS files) differs from what this serve would launch, one at a time, automatically (--no-auto-rollout: only on POST /rollout).',
    env: 'AUTO_ROLLOUT',
    default: true,
    allowNo: true,
    helpGroup: 'ROLLOUTS',
  }),
  'rollout-member-timeout': int({
    summary: 'Seconds a member relaunched by a rollout has to serve again and catch up before the rollout fails.',
    env: 'ROLLOUT_MEMBER_TIMEOUT',
    default: 300,
    min: 10,
    max: 86_400,
    helpGroup: 'ROLLOUTS',
  }),
  'etcd-version': str({
    summary:
      "The version of --etcd-bin on the agents (e.g. 3.5.16), for the upgrade rules; default: what `<etcd-bin> --version` says on the scheduler's host.",
    env: 'ETCD_VERSION',
    helpGroup: 'ROLLOUTS',
  }),
}

export interface RolloutSettings {
  autoRollout: boolean
  memberTimeoutMs: number
  /** --etcd-version, normalised (major.minor.patch). */
  etcdVersion?: string
}

export function resolveRolloutFlags(f: {
  'auto-rollout': boolean
  'rollout-member-timeout': number
  'etcd-version'?: string
}): RolloutSettings {
  const out: RolloutSettings = {autoRollout: f['auto-rollout'] !== false, memberTimeoutMs: f['rollout-member-timeout'] * 1000}
  const v = f['etcd-version']
  if (v !== undefined) {
    try {
      if (!/^v?\d+\.\d+\.\d+/.test(v.trim())) throw new Error('not major.minor.patch')
      out.etcdVersion = formatVersion(parseVersion(v.trim()))
    } catch {
      throw new RolloutFlagError(`--etcd-version ${JSON.stringify(v)} is not an etcd version (want major.minor.patch, e.g. 3.5.16)`)
    }
  }
  return out
}

/** `<bin> --version` → "3.4.23" (its "etcd Version: …" line), or null when it cannot be run or read (bounded: 10 s). */
export function detectEtcdVersion(bin: string): Promise<{version: string} | {error: string}> {
  return new Promise((resolve) => {
    execFile(bin, ['--version'], {timeout: 10_000, env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}}, (err, stdout) => {
      const m = /etcd Version:\s*v?(\d+\.\d+\.\d+\S*)/i.exec(String(stdout ?? ''))
      if (m) {
        try {
          return resolve({version: formatVersion(parseVersion(m[1]!))})
        } catch {}
      }
      resolve({error: err ? err.message : `no "etcd Version:" line in its output: ${String(stdout).slice(0, 100)}`})
    })
  })
}
