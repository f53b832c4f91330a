/**
 * A small reader of the Prometheus text exposition for tests: the families (HELP text, TYPE) and the samples keyed
 * `name{labels as written}` → value (NaN, +Inf, -Inf in any letter case, as Prometheus reads them). Throws on a line
 * it cannot read. (promtool check metrics is the validity check; this is for comparing contents.)
 */
export interface Exposition {
  families: Map<string, {help: string | null; type: string | null}>
  samples: Map<string, number>
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( \d+)?$/

export function parseValue(v: string): number {
  const l = v.toLowerCase()
  if (l === 'nan') return Number.NaN
  if (l === '+inf' || l === 'inf') return Number.POSITIVE_INFINITY
  if (l === '-inf') return Number.NEGATIVE_INFINITY
  const n = Number(v)
  if (Number.isNaN(n)) throw new Error(`not a sample value: ${v}`)
  return n
}

export function parseExposition(text: string): Exposition {
  const families = new Map<string, {help: string | null; type: string | null}>()
  const samples = new Map<string, number>()
  const fam = (name: string) => {
    const f = families.get(name) ?? {help: null, type: null}
    families.set(name, f)
    return f
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta) {
      if (meta[1] === 'HELP') fam(meta[2]!).help = meta[3]!
      else fam(meta[2]!).type = meta[3]!
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not an exposition line: ${line}`)
    const key = `${m[1]}${m[2] ?? ''}`
    if (samples.has(key)) throw new Error(`duplicate sample ${key}`)
    samples.set(key, parseValue(m[3]!))
  }
  return {families, samples}
}

/** The /metrics text a serve with this state (and no backups) exposes, without the process metrics. */
export async function stateMetricsText(s: import('../../src/scheduler/core/state.js').SchedulerState): Promise<string> {
  const {SchedulerMetrics} = await import('../../src/scheduler/metrics.js')
  const {metricFamilies} = await import('../../src/scheduler/views.js')
  const m = new SchedulerMetrics({cluster: s.config.clusterName, defaultMetrics: false})
  m.source = () => metricFamilies(s)
  return m.render()
}
