/**
 * One metric family of /metrics as plain data (name, help, type, label names, samples): what the pure views
 * (views.ts, backup-views.ts, space-views.ts) compute from the scheduler's state, and what metrics.ts hands to
 * prom-client at each scrape. A null value is exposed as NaN (e.g. no backup yet).
 */
export interface MetricFamily {
  name: string
  help: string
  type: 'gauge' | 'counter'
  labelNames: readonly string[]
  samples: {labels: Record<string, string>; value: number | null}[]
}

/** A family of one sample labelled by cluster. */
export function clusterFamily(cluster: string, name: string, help: string, type: MetricFamily['type'], value: number | null): MetricFamily {
  return {name, help, type, labelNames: ['cluster'], samples: [{labels: {cluster}, value}]}
}
