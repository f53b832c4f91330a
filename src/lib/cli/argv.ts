/**
 * Go's `flag` package accepts `-name=value` and `-name value`; the original etcd-mesos was invoked
 * that way and operators' supervisors still do. oclif reads `-x` as a short flag, so long flags
 * given with one dash are rewritten to two, and underscores in flag names become dashes
 * (`-log_dir` → `--log-dir`). Values are never touched, and nothing after `--` is rewritten.
 */
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
    out.push(`--${name.replaceAll('_', '-')}${rest}`)
  }
  return out
}
