/**
 * The data-safety checker run after every scenario (rules after etcd's functional tester KV_HASH checker and
 * Jepsen's acknowledged-write survival):
 *  1. acknowledged writes (rules.ts, pure): every acknowledged write present with its value (one linearizable
 *     range read of the writer's prefix, readAll below). Histories are split where the harness itself saw a
 *     member forced into a new cluster (observer.ts); every write acknowledged after that must survive; a write
 *     acknowledged before it and above the seed's revision as the harness read it (not as the product reports it)
 *     is reported apart as "lost by re-seed"; a revision going back without an observed re-seed is a failure;
 *     the seed must hold the highest revision and raft index of the survivors.
 *  2. KV hash: every member reports the same hashkv at the same revision.
 *  3. membership: the etcd member list has exactly clusterSize started voting members (no learner, no unstarted).
 *  4. the scheduler's /stats against what the scenario did (re-seeds, livelock episodes, failed and launched tasks).
 */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

const execFileP = promisify(execFile)
const ETCDCTL = process.env.ETCDCTL_BIN ?? '/usr/bin/etcdctl'

const b64 = (s: string): string => Buffer.from(s).toString('base64')
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8')

async function post<T>(url: string, p: string, body: unknown, timeoutMs = 3000): Promise<T> {
  const res = await fetch(`${url}${p}`, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs)})
  const text = await res.text()
  if (res.status !== 200) throw new Error(`POST ${url}${p}: HTTP ${res.status} ${text.slice(0, 300)}`)
  return JSON.parse(text) as T
}

export async function readAll(urls: string[], prefix: string): Promise<Map<string, string>> {
  const end = Buffer.from(prefix)
  end[end.length - 1]++
  let lastErr: unknown
  for (let round = 0; round < 20; round++) {
    for (const u of urls) {
      try {
        const r = await post<{kvs?: {key: string; value?: string}[]}>(
          u,
          '/v3/kv/range',
          {key: b64(prefix), range_end: end.toString('base64')},
          8000,
        )
        return new Map((r.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value ?? '')]))
      } catch (err) {
        lastErr = err
      }
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new Error(`linearizable read of ${prefix} failed on ${urls.join(', ')}: ${String(lastErr)}`)
}

/**
 * hashkv of one member at `rev` with etcdctl (etcd 3.4's JSON gateway does not expose Maintenance.HashKV):
 * `etcdctl endpoint hashkv --rev R -w json` → [{Endpoint, HashKV: {header, hash, compact_revision}}].
 */
export async function hashkv(url: string, rev: number): Promise<{url: string; hash: string | null; error?: string}> {
  try {
    const {stdout} = await execFileP(
      ETCDCTL,
      ['--endpoints', url, '--command-timeout=4s', 'endpoint', 'hashkv', '--rev', String(rev), '-w', 'json'],
      {env: {...process.env, ETCDCTL_API: '3'}, timeout: 8000},
    )
    const arr = JSON.parse(stdout) as {HashKV?: {hash?: number}}[]
    const h = arr[0]?.HashKV?.hash
    return h === undefined ? {url, hash: null, error: `no hash in ${stdout.slice(0, 200)}`} : {url, hash: String(h)}
  } catch (err) {
    return {url, hash: null, error: (err as Error).message.slice(0, 300)}
  }
}

export interface HashCheck {
  ok: boolean
  revision: number | null
  hashes: {url: string; hash: string | null; error?: string}[]
  message: string
}

/** Rule 2: waits until every member reports the same revision, then compares hashkv at that revision. */
export async function checkHashes(urls: string[], timeoutMs = 20_000): Promise<HashCheck> {
  const deadline = Date.now() + timeoutMs
  let last: HashCheck = {ok: false, revision: null, hashes: [], message: 'no attempt'}
  while (Date.now() < deadline) {
    try {
      const revs = await Promise.all(
        urls.map(async (u) => Number((await post<{header?: {revision?: string}}>(u, '/v3/maintenance/status', {})).header?.revision)),
      )
      const rev = revs[0]!
      if (!revs.every((r) => r === rev)) {
        last = {ok: false, revision: null, hashes: [], message: `members at different revisions ${JSON.stringify(revs)}`}
      } else {
        const hashes = await Promise.all(urls.map((u) => hashkv(u, rev)))
        const ok = hashes.every((h) => h.hash !== null && h.hash === hashes[0]!.hash)
        last = {
          ok,
          revision: rev,
          hashes,
          message: ok
            ? `same hashkv ${hashes[0]!.hash} at revision ${rev} on ${urls.length} members`
            : `hashkv differs at revision ${rev}: ${JSON.stringify(hashes)}`,
        }
        if (ok) return last
      }
    } catch (err) {
      last = {ok: false, revision: null, hashes: [], message: (err as Error).message}
    }
    await new Promise((r) => setTimeout(r, 300))
  }
  return last
}

export interface MemberListCheck {
  ok: boolean
  message: string
}

/** Rule 3: exactly `size` started voting members (an unstarted member has an empty name and no client URL). */
export async function checkMembership(urls: string[], size: number): Promise<MemberListCheck> {
  let lastErr = ''
  for (const u of urls) {
    try {
      const r = await post<{members?: {ID: string; name?: string; clientURLs?: string[]; isLearner?: boolean}[]}>(
        u,
        '/v3/cluster/member/list',
        {},
      )
      const ms = r.members ?? []
      const learners = ms.filter((m) => m.isLearner)
      const unstarted = ms.filter((m) => !m.name || (m.clientURLs ?? []).length === 0)
      const ok = ms.length === size && learners.length === 0 && unstarted.length === 0
      return {
        ok,
        message: `${ms.length} members (${learners.length} learners, ${unstarted.length} unstarted): ${ms.map((m) => m.name || `(unstarted ${m.ID})`).join(', ')}`,
      }
    } catch (err) {
      lastErr = (err as Error).message
    }
  }
  return {ok: false, message: `member list failed everywhere: ${lastErr}`}
}
