/**
 * What the tests of deploy/ (Prometheus rules, Grafana dashboard, systemd unit, Marathon app) check those files
 * against: the metric names the scheduler's code defines, the `serve` flags and environment variables of
 * oclif.manifest.json, and a small shell-word splitter for the command lines the supervisors run.
 */
import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const deployFile = (rel: string): URL => new URL(`../../deploy/${rel}`, import.meta.url)
export const readDeploy = (rel: string): string => readFileSync(deployFile(rel), 'utf8')

/** promtool's path, or null when it is not installed (CI installs it: setup.sh). */
export function promtool(): string | null {
  const r = spawnSync('promtool', ['--version'], {encoding: 'utf8'})
  return r.error ? null : 'promtool'
}

/** The etcd_mesos_* metric names an expression reads (histogram series reduced to the histogram's name). */
export function metricNamesIn(expr: string): string[] {
  const names = expr.match(/\betcd_mesos_[a-zA-Z0-9_]+/g) ?? []
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))]
}

let sourceText: string | undefined
/** All of src/**\/*.ts, concatenated (read once). */
function source(): string {
  if (sourceText === undefined) {
    const root = fileURLToPath(new URL('../../src/', import.meta.url))
    const parts: string[] = []
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e)
        if (statSync(p).isDirectory()) walk(p)
        else if (p.endsWith('.ts')) parts.push(readFileSync(p, 'utf8'))
      }
    }
    walk(root)
    sourceText = parts.join('\n')
  }
  return sourceText
}

/**
 * Whether the scheduler's code defines the metric: its full name appears in src/ as a string, or its name after
 * `etcd_mesos_` (or after `etcd_mesos_backup_` for the backup metrics) appears quoted, as the views' metric()
 * helpers take it. A static check; test/e2e/deploy-metrics.test.ts checks against a real serve's /metrics.
 */
export function metricDefined(name: string): boolean {
  const src = source()
  if (src.includes(name)) return true
  const quoted = (s: string): boolean => src.includes(`'${s}'`) || src.includes(`"${s}"`) || src.includes(`\`${s}\``)
  const short = name.replace(/^etcd_mesos_/, '')
  if (quoted(short)) return true
  return name.startsWith('etcd_mesos_backup_') && quoted(name.replace(/^etcd_mesos_backup_/, ''))
}

export interface ManifestFlag {
  name: string
  type: 'option' | 'boolean'
  allowNo?: boolean
  env?: string
  char?: string
}

/** The serve command's flags as oclif.manifest.json declares them. */
export function serveFlags(): Map<string, ManifestFlag> {
  const manifest = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as {
    commands: Record<string, {flags: Record<string, ManifestFlag>}>
  }
  const serve = manifest.commands.serve
  if (!serve) throw new Error('oclif.manifest.json has no serve command')
  return new Map(Object.entries(serve.flags))
}

/** The environment variables serve reads for its flags. */
export function serveEnvVars(): Set<string> {
  return new Set([...serveFlags().values()].flatMap((f) => (f.env ? [f.env] : [])))
}

/**
 * Splits a command line into words as sh would for plain words, '…' and "…" quotes and backslash escapes (no
 * expansion: $VAR stays as written). A backslash-newline joins lines.
 */
export function shellWords(line: string): string[] {
  const words: string[] = []
  let cur: string | null = null
  let quote: "'" | '"' | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quote) {
      if (c === quote) quote = null
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i]
      else cur += c
    } else if (c === "'" || c === '"') {
      quote = c
      cur ??= ''
    } else if (c === '\\' && i + 1 < line.length) {
      const n = line[++i]
      if (n !== '\n') cur = (cur ?? '') + n
    } else if (/\s/.test(c)) {
      if (cur !== null) words.push(cur)
      cur = null
    } else cur = (cur ?? '') + c
  }
  if (quote) throw new Error(`unterminated ${quote} in: ${line}`)
  if (cur !== null) words.push(cur)
  return words
}

/**
 * The problems with the words after `serve` in a command line: flags serve does not have, options without a value.
 * Accepts --flag, --flag=value, --flag value and --no-flag (for booleans that allow it).
 */
export function serveArgProblems(words: readonly string[]): string[] {
  const flags = serveFlags()
  const at = words.indexOf('serve')
  if (at < 0) return [`no serve command in: ${words.join(' ')}`]
  const problems: string[] = []
  for (let i = at + 1; i < words.length; i++) {
    const w = words[i]
    if (!w.startsWith('--')) {
      problems.push(`unexpected argument ${JSON.stringify(w)}`)
      continue
    }
    const [name, inline] = w.slice(2).split(/=(.*)/s, 2)
    const flag = flags.get(name)
    const negated = name.startsWith('no-') ? flags.get(name.slice(3)) : undefined
    if (flag?.type === 'boolean') {
      if (inline !== undefined) problems.push(`--${name} is a boolean: write --${name} or --no-${name}`)
    } else if (flag) {
      if (inline === undefined && (i + 1 >= words.length || words[i + 1].startsWith('--'))) problems.push(`--${name} needs a value`)
      else if (inline === undefined) i++
    } else if (negated?.type === 'boolean' && negated.allowNo) {
      if (inline !== undefined) problems.push(`--${name} takes no value`)
    } else problems.push(`serve has no flag --${name}`)
  }
  return problems
}
