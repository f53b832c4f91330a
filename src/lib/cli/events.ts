/**
 * `etcd-mesos events`: the scheduler's event log (GET /events?since=N). Once, or with `follow` polling every
 * `pollMs` for the events after the last one seen until SIGINT (a scheduler briefly unreachable is warned about and
 * tolerated; with --cluster/--zk the leader is looked up again, and the new one asked for what came after the last
 * seq seen: seq continues across leaders). Humans get one line per event;
 * `--json` returns the page, or with `follow` prints one JSON event per line (NDJSON) as they come.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import type {Event, EventsPage} from '../../scheduler/core/event-types.js'
import type {AdminClient} from './admin-client.js'
import {CliError, ExitCode} from './exit-codes.js'
import type {CommandIo} from './show.js'

export interface EventsOptions {
  /** Events after this seq (absent: all kept; with follow, the last FOLLOW_BACKLOG). */
  since?: number
  follow: boolean
  pollMs: number
  /** Where NDJSON goes under --json --follow. */
  write?: (line: string) => void
  /** With --cluster/--zk: find the leader again (another one may have taken over) after a failed poll. */
  reopen?: () => Promise<AdminClient>
}

export const FOLLOW_BACKLOG = 20

function isPage(v: unknown): v is EventsPage {
  if (typeof v !== 'object' || v === null) return false
  const p = v as Record<string, unknown>
  return (
    Number.isSafeInteger(p.latest) &&
    Array.isArray(p.events) &&
    p.events.every((e) => typeof e === 'object' && e !== null && Number.isSafeInteger((e as Event).seq))
  )
}

async function fetchPage(client: AdminClient, since: number): Promise<EventsPage> {
  const {body} = await client.get<unknown>(`/events?since=${since}`)
  if (!isPage(body))
    throw new CliError(
      `${client.baseUrl}/events did not return an event log; is this an etcd-mesos scheduler admin URL (issue 18 or later)?`,
      ExitCode.UNREACHABLE,
      'BAD_RESPONSE',
    )
  return body
}

/** One line: time, seq, kind, member, message. */
export function renderEvent(e: Event): string {
  return `${e.at}  ${`#${e.seq}`.padEnd(6)}  ${e.kind.padEnd(10)}  ${(e.member ?? '-').padEnd(8)}  ${e.message}`
}

export async function runEvents(initial: AdminClient, io: CommandIo, o: EventsOptions): Promise<EventsPage | undefined> {
  let client = initial
  const write = o.write ?? ((line: string) => process.stdout.write(`${line}\n`))
  const show = (e: Event): void => {
    if (io.json) write(JSON.stringify(e))
    else io.log(renderEvent(e))
  }
  let page = await fetchPage(client, o.since ?? 0)
  if (!o.follow) {
    if (!io.json) for (const e of page.events) show(e)
    if (!io.json && page.events.length === 0) io.warn(`no events after #${o.since ?? 0} (the newest is #${page.latest})`)
    return page
  }
  const first = o.since === undefined ? page.events.slice(-FOLLOW_BACKLOG) : page.events
  for (const e of first) show(e)
  let last = page.events.length > 0 ? page.events[page.events.length - 1]!.seq : Math.max(o.since ?? page.latest, 0)
  if (o.since === undefined && page.events.length === 0) last = page.latest
  const ac = new AbortController()
  const onSigint = (): void => ac.abort()
  process.once('SIGINT', onSigint)
  let warned = false
  try {
    while (!ac.signal.aborted) {
      await sleep(o.pollMs, undefined, {signal: ac.signal}).catch(() => undefined)
      if (ac.signal.aborted) break
      try {
        page = await fetchPage(client, last)
        warned = false
      } catch (err) {
        if (!(err instanceof CliError) || (err.exitCode !== ExitCode.UNREACHABLE && err.exitCode !== ExitCode.UNHEALTHY)) throw err
        if (!warned) io.warn(`warning: ${err.message}; still trying (Ctrl-C to stop)`)
        warned = true
        // The leader may have changed (a standby answers 503, a dead one not at all): ask ZooKeeper again.
        const next = o.reopen ? await o.reopen().catch(() => null) : null
        if (next && next.baseUrl !== client.baseUrl) {
          client = next
          warned = false
          io.warn(`following the scheduler at ${client.baseUrl} (after #${last})`)
        }
        continue
      }
      const fresh = page.events.filter((e) => e.seq > last)
      if (fresh.length > 0 && fresh[0]!.seq > last + 1)
        io.warn(`warning: events #${last + 1}..#${fresh[0]!.seq - 1} were dropped from the scheduler's log before they were read`)
      for (const e of fresh) show(e)
      if (fresh.length > 0) last = fresh[fresh.length - 1]!.seq
    }
  } finally {
    process.off('SIGINT', onSigint)
  }
  return undefined
}
