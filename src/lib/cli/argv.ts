/**
 * Go's `flag` package accepts `-name=value` and `-name value`; the original etcd-mesos was invoked
 * that way and operators' supervisors still do. oclif reads `-x` as a short flag, so long flags
 * given with one dash are rewritten to two, and underscores in flag names become dashes
 * (`-log_dir` → `--log-dir`). Values are never touched, and nothing after `--` is rewritten.
 */
/**
 * Boolean flags of every command. Go's flag package takes `-auto-reseed=false`; oclif's boolean flags
 * take no value, so `--x=false` becomes `--no-x` and `--x=true` becomes `--x`.
 */
export const BOOLEAN_FLAGS: ReadonlySet<string> = new Set([
  'auto-reseed',
  'single-instance-per-slave',
  'single-instance-per-host',
  'logtostderr',
  'alsologtostderr',
  'json',
  'force',
  'yes',
  'wait',
  'check',
  'quiet',
])

export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = []
  let passthrough = false
  for (const arg of argv) {
    if (passthrough) {
      out.push(arg)
      continue
    }
    if (arg === '--') {
      passthrough = true
      out.push(arg)
      continue
    }
    const m = /^(-{1,2})([A-Za-z][A-Za-z0-9_-]+)(=.*)?$/s.exec(arg)
    if (!m) {
      out.push(arg)
      continue
    }
    const [, dashes, name, rest = ''] = m
    if (dashes === '-' && name.length === 1) {
      out.push(arg)
      continue
    }
    const flag = name.replaceAll('_', '-')
    if (BOOLEAN_FLAGS.has(flag) && rest !== '') {
      const v = rest.slice(1).toLowerCase()
      if (['true', '1', 'yes', 't'].includes(v)) {
        out.push(`--${flag}`)
        continue
      }
      if (['false', '0', 'no', 'f'].includes(v)) {
        out.push(`--no-${flag}`)
        continue
      }
    }
    out.push(`--${flag}${rest}`)
  }
  return out
}
