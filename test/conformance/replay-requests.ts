/**
 * Request steps of the replayer: routes a fixture step to one of our masters/agents, rewrites the fixture's ids
 * in its path, headers and body into ours (records.ts / matcher.ts bindings; `offer_ids` also name our extra
 * offer pieces), sends it, and compares the reply with the real one — status, the headers clients use
 * (records.ts `compareHeaders`) and the body (text with placeholders, or JSON structure and values). A streaming
 * reply is handed to replay-streams.ts. Answers of an agent are owned by 'agent', the rest by 'master'.
 */
import {encode} from '../../src/lib/mesos/codec.js'
import {headerOf, type FixtureStep, type Json} from './fixtures.js'
import {send, type Reply} from './http.js'
import {compare, matchString, short} from './matcher.js'
import {compareHeaders, type Owner} from './records.js'
import {stepLabel, type ReplayContext} from './replay-types.js'
import {attachStream} from './replay-streams.js'

/** Where a step's request goes: fixed route, else the port binding of its Host header, else the leader. */
export function route(ctx: ReplayContext, step: FixtureStep): string {
  const host = headerOf(step.request?.headers, 'Host')
  if (host !== undefined) {
    const fixed = ctx.opts.routes?.[host]
    if (fixed) return fixed()
    const port = ctx.bindings.port(host.split(':')[1] ?? '')
    if (port !== undefined) {
      const hit = [...ctx.env.masters(), ...ctx.env.agents()].find((u) => Number(new URL(u).port) === port)
      if (hit) return hit
    }
  }
  return ctx.env.masterUrl()
}

/** Rewrites fixture ids in a request body; `offer_ids` lists also get our extra offers (see offerPieces). */
function rewriteBody(ctx: ReplayContext, body: Json): Json {
  const expand = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(expand)
    if (v === null || typeof v !== 'object') return v
    const out: {[k: string]: Json} = {}
    for (const [k, x] of Object.entries(v)) {
      if (k === 'offer_ids' && Array.isArray(x)) {
        const ids = x.flatMap((o) => {
          const id = String((o as {value?: string}).value)
          const ours = ctx.bindings.get('id', id)
          return [...(ours !== undefined ? [ours] : ctx.offerPieces.has(id) ? [] : [id]), ...(ctx.offerPieces.get(id) ?? [])]
        })
        out[k] = [...new Set(ids)].map((value) => ({value}))
      } else {
        out[k] = expand(x)
      }
    }
    return out
  }
  return ctx.bindings.rewriteJson(expand(body))
}

function requestBody(ctx: ReplayContext, step: FixtureStep): string | Buffer | undefined {
  const req = step.request!
  if (req.bodyJson !== undefined) {
    const name = req.path.endsWith('/scheduler') ? 'scheduler.Call' : 'master.Call'
    return encode(name, rewriteBody(ctx, req.bodyJson) as object, 'application/x-protobuf')
  }
  if (req.body_format === 'json') return JSON.stringify(rewriteBody(ctx, req.body as Json))
  if (req.body_format === 'text') return String(req.body)
  if (req.body_format === 'base64') return Buffer.from(String(req.body), 'base64')
  return req.method === 'GET' ? undefined : ''
}

/** Sends one request step and compares the reply; keeps it in `ctx.replies`, attaches a stream it opens. */
export async function sendStep(ctx: ReplayContext, step: FixtureStep): Promise<void> {
  const req = step.request!
  const label = stepLabel(step)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers ?? {})) if (k !== 'Host' && k !== 'Content-Length') headers[k] = ctx.bindings.rewrite(v)
  const base = route(ctx, step)
  const owner: Owner = ctx.env.agents().includes(base) ? 'agent' : 'master'
  ctx.log(`SEND ${label}`)
  let reply: Reply
  try {
    reply = await send(base, req.method ?? 'GET', ctx.bindings.rewrite(req.path), headers, requestBody(ctx, step))
  } catch (err) {
    if (step.response?.status === null) return
    ctx.report(label, `request failed: ${String(err)}`, owner)
    return
  }
  ctx.replies.set(step.seq, reply)
  const res = step.response!
  if (res.status === null) {
    ctx.report(label, `real Mesos closed the connection without answering (${res.error ?? ''}); we answered ${reply.status}`, owner)
    return
  }
  if (reply.status !== res.status)
    ctx.report(label, `status ${reply.status} (body ${short(reply.body.toString('utf8'))}), real Mesos ${res.status}`, owner)
  for (const msg of compareHeaders(res.headers ?? {}, reply.headers, ctx.bindings)) ctx.report(label, msg, owner)
  if (step.streaming) {
    if (!reply.stream) {
      ctx.report(label, 'no event stream', owner)
      return
    }
    attachStream(ctx, step, reply.stream)
    return
  }
  compareBody(ctx, label, step, reply, owner)
}

function compareBody(ctx: ReplayContext, label: string, step: FixtureStep, reply: Reply, owner: Owner): void {
  const res = step.response!
  const text = reply.body.toString('utf8')
  if (res.body_format === 'json') {
    let got: unknown
    try {
      got = JSON.parse(text)
    } catch {
      ctx.report(label, `body is not JSON: ${short(text)}`, owner)
      return
    }
    for (const d of compare(res.body, got, ctx.bindings, 'body', ctx.opts.compare)) ctx.report(label, `${d.where}: ${d.what}`, owner)
  } else if (res.body_format === 'text' || res.body_format === 'empty') {
    const err = matchString(String(res.body ?? ''), text, ctx.bindings)
    if (err) ctx.report(label, `body: ${err}`, owner)
  }
}
