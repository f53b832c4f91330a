/**
 * PURE: builds etcd's argv (an array, never a shell string) from a MemberConfig.
 *
 * - bin: `cfg.etcdBin` (default /usr/bin/etcd); a relative path containing '/' (e.g. `./etcd`) is
 *   resolved against the sandbox; a bare name is left for PATH lookup.
 * - data dir: `cfg.dataDir` resolved against the sandbox (default `<sandbox>/etcd_data`).
 * - URLs: `<scheme>://<host>:<peerPort>` for listen/advertise peer, `<scheme>://<host>:<clientPort>` for
 *   listen/advertise client; `--initial-cluster` from cfg.initialCluster; `--initial-cluster-state`;
 *   `--initial-cluster-token` = cluster.token.
 * - https: client TLS (`--cert-file/--key-file`, `--trusted-ca-file` + `--client-cert-auth` when a CA is
 *   given) and peer TLS (`--peer-*`, defaulting to the client files).
 * - then cfg.extraArgs, which may not set any flag managed here (a stray `--force-new-cluster` or
 *   `--data-dir` in extraArgs would silently break the member, so it is rejected), nor `--config-file`
 *   (etcd then ignores every other flag); each element must be one flag (`--name` or `--name=value`).
 * - quotaBackendBytes → `--quota-backend-bytes`, autoCompaction → `--auto-compaction-mode/-retention` (issue 17), after
 *   the managed flags; extraArgs may then not set the same flags (two values: which one wins would be etcd's guess).
 * - forceNewCluster: adds `--force-new-cluster` and uses only this member in `--initial-cluster`.
 * - tlsContent (files shipped by the scheduler): `withShippedTls` points `tls` at `<sandbox>/tls/<key>.pem`; the
 *   executor's driver writes them (tls-files.ts) before etcd starts.
 */
import path from 'node:path'
import {MemberConfigError, clientUrlOf, peerUrlOf, type MemberConfig, type MemberTlsKey} from '../lib/member-config.js'
import type {EtcdTlsOptions} from '../lib/etcd/admin.js'

export const DEFAULT_ETCD_BIN = '/usr/bin/etcd'
export const DEFAULT_DATA_DIR = 'etcd_data'

const MANAGED_FLAGS = [
  'name',
  'data-dir',
  'listen-peer-urls',
  'initial-advertise-peer-urls',
  'listen-client-urls',
  'advertise-client-urls',
  'initial-cluster',
  'initial-cluster-state',
  'initial-cluster-token',
  'force-new-cluster',
  'cert-file',
  'key-file',
  'trusted-ca-file',
  'client-cert-auth',
  'peer-cert-file',
  'peer-key-file',
  'peer-trusted-ca-file',
  'peer-client-cert-auth',
]
const FLAG_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

export interface EtcdCommand {
  bin: string
  args: string[]
  dataDir: string
}

export function resolveDataDir(cfg: MemberConfig, sandbox: string): string {
  return path.resolve(sandbox, cfg.dataDir ?? DEFAULT_DATA_DIR)
}

export function resolveEtcdBin(cfg: MemberConfig, sandbox: string): string {
  const bin = cfg.etcdBin ?? DEFAULT_ETCD_BIN
  return path.isAbsolute(bin) || !bin.includes('/') ? bin : path.resolve(sandbox, bin)
}

export function buildEtcdArgs(cfg: MemberConfig, sandbox: string, opts: {forceNewCluster?: boolean} = {}): EtcdCommand {
  if (!path.isAbsolute(sandbox)) throw new MemberConfigError(`sandbox path must be absolute, got ${JSON.stringify(sandbox)}`)
  const dataDir = resolveDataDir(cfg, sandbox)
  const peerUrl = peerUrlOf(cfg)
  const clientUrl = clientUrlOf(cfg)
  const peers = opts.forceNewCluster ? [{name: cfg.member.name, peerUrl}] : cfg.initialCluster
  const args = [
    `--name=${cfg.member.name}`,
    `--data-dir=${dataDir}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--initial-cluster=${peers.map((p) => `${p.name}=${p.peerUrl}`).join(',')}`,
    `--initial-cluster-state=${cfg.initialClusterState}`,
    `--initial-cluster-token=${cfg.cluster.token}`,
  ]
  if ((cfg.scheme ?? 'http') === 'https') args.push(...tlsArgs(cfg))
  const space = spaceArgs(cfg)
  args.push(...space.args)
  for (const extra of cfg.extraArgs ?? []) {
    const flag = /^--?([^=]+)/.exec(extra)?.[1]
    if (flag === undefined) throw new MemberConfigError(`extraArgs element ${JSON.stringify(extra)} is not a flag`)
    if (MANAGED_FLAGS.includes(flag)) {
      throw new MemberConfigError(`extraArgs may not set --${flag}: the executor manages it from the member config`)
    }
    const field = space.fieldOf.get(flag)
    if (field !== undefined) {
      throw new MemberConfigError(`extraArgs may not set --${flag}: the member config sets it (${field})`)
    }
    if (flag === 'config-file') {
      throw new MemberConfigError('extraArgs may not set --config-file: etcd would ignore every flag the executor sets')
    }
    // One argv element = one flag: rejects "--" (end of flags), "---x", "--a b", "--x\n--force-new-cluster" names...
    if (!FLAG_NAME_RE.test(flag)) {
      throw new MemberConfigError(`extraArgs element ${JSON.stringify(extra)} is not a single etcd flag (--name or --name=value)`)
    }
    args.push(extra)
  }
  if (opts.forceNewCluster) args.push('--force-new-cluster')
  return {bin: resolveEtcdBin(cfg, sandbox), args, dataDir}
}

/** etcd's quota and auto-compaction flags of the member config, and which field set each flag. */
function spaceArgs(cfg: MemberConfig): {args: string[]; fieldOf: Map<string, string>} {
  const args: string[] = []
  const fieldOf = new Map<string, string>()
  if (cfg.quotaBackendBytes !== undefined) {
    args.push(`--quota-backend-bytes=${cfg.quotaBackendBytes}`)
    fieldOf.set('quota-backend-bytes', 'quotaBackendBytes')
  }
  if (cfg.autoCompaction !== undefined) {
    args.push(`--auto-compaction-mode=${cfg.autoCompaction.mode}`, `--auto-compaction-retention=${cfg.autoCompaction.retention}`)
    fieldOf.set('auto-compaction-mode', 'autoCompaction').set('auto-compaction-retention', 'autoCompaction')
  }
  return {args, fieldOf}
}

function tlsArgs(cfg: MemberConfig): string[] {
  const t = cfg.tls ?? {}
  if (!t.clientCertFile || !t.clientKeyFile) {
    throw new MemberConfigError('scheme https needs tls.clientCertFile and tls.clientKeyFile')
  }
  const out = [`--cert-file=${t.clientCertFile}`, `--key-file=${t.clientKeyFile}`]
  if (t.clientTrustedCaFile) out.push(`--trusted-ca-file=${t.clientTrustedCaFile}`, '--client-cert-auth')
  const peerCert = t.peerCertFile ?? t.clientCertFile
  const peerKey = t.peerKeyFile ?? t.clientKeyFile
  const peerCa = t.peerTrustedCaFile ?? t.clientTrustedCaFile
  out.push(`--peer-cert-file=${peerCert}`, `--peer-key-file=${peerKey}`)
  if (peerCa) out.push(`--peer-trusted-ca-file=${peerCa}`, '--peer-client-cert-auth')
  return out
}

/** Client TLS options for talking to this member with EtcdAdmin (undefined for http). */
export function adminTlsOf(cfg: MemberConfig): EtcdTlsOptions | undefined {
  if ((cfg.scheme ?? 'http') !== 'https') return undefined
  const t = cfg.tls ?? {}
  const out: EtcdTlsOptions = {}
  if (t.clientTrustedCaFile) out.caFile = t.clientTrustedCaFile
  if (t.clientCertFile) out.certFile = t.clientCertFile
  if (t.clientKeyFile) out.keyFile = t.clientKeyFile
  return out
}

/** Where a shipped TLS file lives in the sandbox. */
export function shippedTlsPath(sandbox: string, key: MemberTlsKey): string {
  return path.join(sandbox, 'tls', `${key}.pem`)
}

/** The config with `tls` pointing at the shipped files (`tlsContent`) in the sandbox; unchanged without any. */
export function withShippedTls(cfg: MemberConfig, sandbox: string): MemberConfig {
  if (!cfg.tlsContent || Object.keys(cfg.tlsContent).length === 0) return cfg
  const tls = {...(cfg.tls ?? {})}
  for (const k of Object.keys(cfg.tlsContent) as MemberTlsKey[]) tls[k] = shippedTlsPath(sandbox, k)
  return {...cfg, tls}
}

/** The config a member runs with after a re-seed: itself as the whole cluster. */
export function reseededConfig(cfg: MemberConfig): MemberConfig {
  return {...cfg, initialCluster: [{name: cfg.member.name, peerUrl: peerUrlOf(cfg)}], initialClusterState: 'existing'}
}
