/**
 * Loader of the recorded real-Mesos transcripts (test/fixtures/real-mesos, format: its README.md).
 *
 * `loadFixture(name, opts)` parses one NN-<scenario>.json and returns it with every step's body in JSON form:
 * protobuf request bodies (`body_format: base64` + `application/x-protobuf`) are decoded into `bodyJson`, and
 * protobuf streams (`records_base64`) into `records`, so the replayer compares one representation.
 *
 * Time scaling (`opts.scale`, e.g. 0.1): the scenarios wait for real intervals (refuse_seconds, failover_timeout,
 * kill grace periods, `sleep N` tasks). `scaleScenarioValues` shrinks those values in the WHOLE fixture (requests
 * and the expected answers that echo them) by the same factor; the local Mesos is started with intervals shrunk
 * the same way, so ORDER and relative timing are preserved while the suite stays short.
 */
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {decode} from '../../src/lib/mesos/codec.js'

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/real-mesos', import.meta.url))

export type Json = null | boolean | number | string | Json[] | {[k: string]: Json}

export interface FixtureRequest {
  method?: string
  path: string
  headers?: Record<string, string>
  body?: Json
  body_format?: 'json' | 'text' | 'empty' | 'base64'
  /** Zookeeper-client steps: the ZooKeeper operation. */
  op?: string
  /** Decoded JSON form of a protobuf body (filled by the loader). */
  bodyJson?: Json
}

export interface FixtureResponse {
  status: number | null
  reason?: string
  headers?: Record<string, string>
  body?: Json
  body_format?: string
  error?: string
  at_ms?: number
  /** Stream records in JSON form (protobuf streams are decoded by the loader). */
  records?: Json[] | null
  records_base64?: string[]
  record_at_ms?: number[]
  closed?: 'by_server' | 'by_client'
  closed_at_ms?: number
  [k: string]: unknown
}

export interface FixtureStep {
  seq: number
  actor: 'scheduler' | 'executor' | 'operator' | 'zookeeper-client' | 'test-harness'
  label: string
  at_ms: number
  streaming?: boolean
  request: FixtureRequest | null
  response: FixtureResponse | null
}

export interface Fixture {
  file: string
  scenario: string
  notes: string
  steps: FixtureStep[]
  extra: Record<string, unknown>
}

export interface LoadOptions {
  /** Multiply waits that are carried in the scenario's values (see the module header). Default 1. */
  scale?: number
  /** Literal replacements applied to every string of the fixture (e.g. the recording executor's command). */
  replace?: [string, string][]
  /**
   * Also scale `sleep N` in task commands (default true). Off where a task's run time must stay long compared
   * with the (unscaled) time our processes take to start.
   */
  scaleSleeps?: boolean
}

const PROTOBUF = 'application/x-protobuf'

/** How fixture values are transformed (see LoadOptions). */
export interface Scaling {
  scale: number
  replace: [string, string][]
  scaleSleeps: boolean
}

/** `sleep N` with an integer N ≥ 1 becomes `sleep N*scale` (fractional sleeps of polling loops stay). */
function scaleText(s: string, sc: Scaling): string {
  if (sc.scale === 1 || !sc.scaleSleeps) return s
  return s.replace(/\bsleep (\d+)\b(?!\.)/g, (_m, n: string) => `sleep ${Number((Number(n) * sc.scale).toFixed(3))}`)
}

/** Applies the time scaling and literal replacements to a JSON value (returns a new value). */
export function scaleScenarioValues(v: Json, sc: Scaling, key = ''): Json {
  if (typeof v === 'string') {
    let s = v
    for (const [from, to] of sc.replace) s = s.split(from).join(to)
    return scaleText(s, sc)
  }
  if (typeof v === 'number') {
    if (['refuse_seconds', 'failover_timeout', 'heartbeat_interval_seconds'].includes(key)) return v * sc.scale
    return v
  }
  if (Array.isArray(v)) return v.map((x) => scaleScenarioValues(x, sc, key))
  if (v !== null && typeof v === 'object') {
    const out: {[k: string]: Json} = {}
    for (const [k, x] of Object.entries(v)) {
      if (k === 'grace_period' && x !== null && typeof x === 'object' && !Array.isArray(x) && typeof x.nanoseconds === 'number') {
        out[k] = {...x, nanoseconds: Math.round(x.nanoseconds * sc.scale)}
      } else {
        out[k] = scaleScenarioValues(x, sc, k)
      }
    }
    return out
  }
  return v
}

export function headerOf(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined
  const k = Object.keys(headers).find((h) => h.toLowerCase() === name.toLowerCase())
  return k === undefined ? undefined : headers[k]
}

/** Reads and prepares one fixture file (see the module header). */
export function loadFixture(file: string, opts: LoadOptions = {}): Fixture {
  const sc: Scaling = {scale: opts.scale ?? 1, replace: opts.replace ?? [], scaleSleeps: opts.scaleSleeps ?? true}
  const raw = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, file), 'utf8')) as Record<string, unknown>
  const steps = (raw.steps as FixtureStep[]).map((s) => prepareStep(s, sc))
  const extra: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(raw)) if (!['steps', 'scenario', 'notes'].includes(k)) extra[k] = v
  return {file, scenario: String(raw.scenario), notes: String(raw.notes ?? ''), steps, extra}
}

/** Prepares one step (also used for the executor-side sub-transcripts of fixture 06). */
export function prepareStep(s: FixtureStep, sc: Scaling): FixtureStep {
  const step: FixtureStep = JSON.parse(JSON.stringify(s)) as FixtureStep
  const req = step.request
  if (req) {
    if (req.body_format === 'base64' && headerOf(req.headers, 'Content-Type') === PROTOBUF && typeof req.body === 'string') {
      const name = req.path.endsWith('/executor') ? 'executor.Call' : req.path.endsWith('/scheduler') ? 'scheduler.Call' : 'master.Call'
      req.bodyJson = decode<Json>(name, Buffer.from(req.body, 'base64'), PROTOBUF)
    }
    if (req.body !== undefined && req.body_format !== 'base64') req.body = scaleScenarioValues(req.body as Json, sc)
    if (req.bodyJson !== undefined) req.bodyJson = scaleScenarioValues(req.bodyJson, sc)
  }
  const res = step.response
  if (res) {
    if (!res.records && Array.isArray(res.records_base64)) {
      const name = req?.path.endsWith('/executor') ? 'executor.Event' : 'scheduler.Event'
      res.records = res.records_base64.map((b) => decode<Json>(name, Buffer.from(b, 'base64'), PROTOBUF))
    }
    if (res.records) res.records = res.records.map((r) => scaleScenarioValues(r, sc))
    if (res.body !== undefined && res.body_format === 'json') res.body = scaleScenarioValues(res.body as Json, sc)
    else if (typeof res.body === 'string' && res.body_format === 'text') res.body = scaleScenarioValues(res.body, sc) as string
  }
  return step
}
