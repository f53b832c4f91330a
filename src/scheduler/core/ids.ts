/**
 * Names and randomness for the pure core. Randomness comes from a seeded PRNG whose 32-bit state lives
 * in SchedulerState (`rng`), so `step` stays deterministic: same state + event + now → same output.
 *
 * Member names: `<cluster>-<n>`, n from a persisted, monotonically increasing counter (never reused).
 * Task ids: `<memberName>.<8 hex>` — valid Mesos ids (no '/', '\\', spaces or control characters);
 * the member name is recoverable from the task id (text before the last '.').
 */

/** mulberry32 step: returns [uint32 output, next state]. */
export function prng(seed: number): [number, number] {
  const next = (seed + 0x6d2b79f5) >>> 0
  let t = next
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return [(t ^ (t >>> 14)) >>> 0, next]
}

export interface HasRng {
  rng: number
}

/** `n` lowercase hex chars (n <= 64), advancing `holder.rng`. */
export function randomHex(holder: HasRng, n: number): string {
  let out = ''
  while (out.length < n) {
    const [v, next] = prng(holder.rng)
    holder.rng = next
    out += v.toString(16).padStart(8, '0')
  }
  return out.slice(0, n)
}

export function memberName(cluster: string, n: number): string {
  return `${cluster}-${n}`
}

export function taskIdFor(member: string, suffix: string): string {
  return `${member}.${suffix}`
}

/** The member name encoded in one of our task ids, or null if the id is not ours for this cluster. */
export function memberNameOfTaskId(cluster: string, taskId: string): string | null {
  const dot = taskId.lastIndexOf('.')
  if (dot <= 0) return null
  const name = taskId.slice(0, dot)
  if (!name.startsWith(`${cluster}-`) || !/^\d+$/.test(name.slice(cluster.length + 1))) return null
  return name
}

/** The index n of a member name `<cluster>-<n>`, or null. */
export function memberIndexOf(cluster: string, name: string): number | null {
  if (!name.startsWith(`${cluster}-`)) return null
  const rest = name.slice(cluster.length + 1)
  return /^\d+$/.test(rest) ? Number(rest) : null
}

const MESOS_ID_RE = /^[^/\\\s\x00-\x1f\x7f]{1,255}$/
export function isValidMesosId(id: string): boolean {
  return MESOS_ID_RE.test(id) && id !== '.' && id !== '..'
}
