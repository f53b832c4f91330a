/**
 * An etcd stand-in for `serve --etcd-bin` that puts controllable TCP proxies (netproxy.ts) in front of a
 * member's peer and client ports, so the resilience scenarios can cut or delay one member's traffic.
 *
 *   node --import <tsx loader> etcd-wrapper.ts --control-dir DIR [--etcd /usr/bin/etcd] -- <etcd flags…>
 *
 * - Reads --name, --listen-peer-urls and --listen-client-urls (`--flag=value` or `--flag value`, one URL
 *   each), picks a free internal port on the same IP for each (61000-65499, above the kernel's ephemeral
 *   range and the agents' offer ranges), rewrites the listen URLs to the internal ports and leaves the
 *   advertised URLs as they are; proxies listen on the advertised (original) ports.
 * - A busy original port is reported as etcd would ("bind: address already in use", exit 1), so the
 *   executor's start retry applies unchanged.
 * - Spawns the REAL etcd as `setpriv --pdeathsig SIGKILL -- <etcd> <flags>` (argv[0] is etcd, so the test
 *   helpers' etcdPids/killEtcd find it) with stdio inherited (the executor reads etcd's output itself).
 *   This process keeps the executor's pdeathsig (set by setpriv, kept across exec): it dies with the
 *   executor, and etcd dies with it.
 * - SIGTERM/SIGINT/SIGHUP are forwarded to etcd; when etcd exits, this process exits with the same code,
 *   or kills itself with the same signal.
 * - Control: every ~100 ms reads DIR/<name>.json, e.g. {"seq":3,"peer":{"mode":"blackhole"},
 *   "client":{"mode":"normal"}} (a missing file or key = normal), applies the modes, and acknowledges
 *   by writing DIR/<name>.state.json {seq, pid, peer, client, triggered} (atomically: temp file +
 *   rename); `triggered.<kind>` = the time an armed drop-responses-after fired on that proxy.
 */
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {NetProxy, modeString, parseMode, type ProxyMode} from './netproxy.js'

const log = (s: string): void => {
  process.stderr.write(`etcd-wrapper: ${s}\n`)
}

function fail(s: string, code = 2): never {
  log(s)
  process.exit(code)
}

interface Parsed {
  controlDir: string
  etcd: string
  args: string[]
}

function parseCli(argv: string[]): Parsed {
  const sep = argv.indexOf('--')
  if (sep < 0) fail('usage: etcd-wrapper --control-dir DIR [--etcd BIN] -- <etcd flags>')
  const own = argv.slice(0, sep)
  const get = (n: string): string | undefined => {
    const i = own.indexOf(`--${n}`)
    return i >= 0 ? own[i + 1] : undefined
  }
  const controlDir = get('control-dir')
  if (!controlDir || !path.isAbsolute(controlDir)) fail(`--control-dir must be an absolute path, got ${JSON.stringify(controlDir)}`)
  return {controlDir, etcd: get('etcd') ?? '/usr/bin/etcd', args: argv.slice(sep + 1)}
}

/** Index and value of etcd flag `name` (`--name=v` or `--name v`). */
function findFlag(args: string[], name: string): {i: number; inline: boolean; value: string} | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === `--${name}` && i + 1 < args.length) return {i, inline: false, value: args[i + 1]!}
    if (a.startsWith(`--${name}=`)) return {i, inline: true, value: a.slice(name.length + 3)}
  }
  return null
}

function setFlag(args: string[], f: {i: number; inline: boolean}, name: string, value: string): void {
  if (f.inline) args[f.i] = `--${name}=${value}`
  else args[f.i + 1] = value
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, host, () => s.close(() => resolve(true)))
  })
}

async function internalPort(host: string): Promise<number> {
  for (let k = 0; k < 50; k++) {
    const p = 61_000 + Math.floor(Math.random() * 4500)
    if (await canListen(host, p)) return p
  }
  fail(`no free internal port on ${host} in 61000-65499`)
}

interface Listener {
  kind: 'peer' | 'client'
  url: URL
  proxy: NetProxy
  /** The mode last applied from the control file (a fired trigger changes proxy.mode, not this). */
  applied: ProxyMode
}

async function main(): Promise<void> {
  const {controlDir, etcd, args} = parseCli(process.argv.slice(2))
  const name = findFlag(args, 'name')?.value
  if (!name) fail('etcd flags have no --name')
  const listeners: Listener[] = []
  const triggered: Partial<Record<'peer' | 'client', number>> = {}
  let writeState: () => void = () => undefined
  for (const kind of ['peer', 'client'] as const) {
    const flag = `listen-${kind}-urls`
    const f = findFlag(args, flag)
    if (!f) fail(`etcd flags have no --${flag}`)
    if (f.value.includes(',')) fail(`--${flag} must be one URL, got ${f.value}`)
    let url: URL
    try {
      url = new URL(f.value)
    } catch {
      fail(`--${flag} is not a URL: ${f.value}`)
    }
    const host = url.hostname
    const port = Number(url.port)
    if (!Number.isInteger(port) || port <= 0) fail(`--${flag} has no port: ${f.value}`)
    const inner = await internalPort(host)
    const proxy = new NetProxy({
      listenHost: host,
      listenPort: port,
      targetHost: host,
      targetPort: inner,
      onTrigger: (match) => {
        triggered[kind] = Date.now()
        log(`${name}: ${kind} proxy saw ${JSON.stringify(match)}: now drop-responses`)
        writeState()
      },
    })
    try {
      await proxy.start()
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      // The wording the executor's supervisor retries on.
      if (e.code === 'EADDRINUSE') fail(`listen tcp ${host}:${port}: bind: address already in use`, 1)
      fail(`cannot listen on ${host}:${port}: ${e.message}`, 1)
    }
    const innerUrl = new URL(url.href)
    innerUrl.port = String(inner)
    setFlag(args, f, flag, innerUrl.href.replace(/\/$/, ''))
    listeners.push({kind, url, proxy, applied: {mode: 'normal'}})
    log(`${name}: ${kind} proxy ${host}:${port} -> ${host}:${inner}`)
  }

  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', etcd, ...args], {stdio: 'inherit'})
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      try {
        child.kill(sig)
      } catch {
        /* gone */
      }
    })
  }

  // Control loop.
  const file = path.join(controlDir, `${name}.json`)
  const stateFile = path.join(controlDir, `${name}.state.json`)
  let lastText: string | null = ''
  let applied: {seq: unknown} = {seq: 0}
  writeState = (): void => {
    try {
      fs.mkdirSync(controlDir, {recursive: true})
      const tmp = `${stateFile}.${process.pid}.tmp`
      const modes = Object.fromEntries(listeners.map((l) => [l.kind, l.proxy.mode]))
      fs.writeFileSync(tmp, JSON.stringify({seq: applied.seq, pid: process.pid, ...modes, triggered}))
      fs.renameSync(tmp, stateFile)
    } catch (err) {
      log(`${name}: cannot write ${stateFile}: ${(err as Error).message}`)
    }
  }
  const apply = (): void => {
    let text: string | null = null
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch {
      text = null
    }
    if (text === lastText) return
    lastText = text
    let doc: {seq?: unknown; peer?: unknown; client?: unknown} = {}
    if (text !== null) {
      try {
        doc = JSON.parse(text) as typeof doc
      } catch (err) {
        log(`${name}: ignoring ${file}: ${(err as Error).message}`)
        return
      }
    }
    const modes: Partial<Record<'peer' | 'client', ProxyMode>> = {}
    try {
      for (const l of listeners) modes[l.kind] = doc[l.kind] === undefined ? {mode: 'normal'} : parseMode(doc[l.kind])
    } catch (err) {
      log(`${name}: ignoring ${file}: ${(err as Error).message}`)
      return
    }
    for (const l of listeners) {
      const m = modes[l.kind]!
      if (JSON.stringify(m) !== JSON.stringify(l.applied)) {
        log(`${name}: ${kind(l)} proxy mode ${modeString(l.proxy.mode)} -> ${modeString(m)}`)
        l.applied = m
        if (m.mode === 'drop-responses-after') delete triggered[l.kind]
        l.proxy.setMode(m)
      }
    }
    applied = {seq: doc.seq ?? 0}
    writeState()
  }
  const kind = (l: Listener): string => `${l.kind} (${l.url.host})`
  apply()
  const timer = setInterval(apply, 100)

  child.once('error', (err) => {
    log(`${name}: cannot start ${etcd}: ${err.message}`)
    process.exit(1)
  })
  child.once('exit', (code, signal) => {
    clearInterval(timer)
    const closed = Promise.all(listeners.map((l) => l.proxy.close()))
    void Promise.race([closed, new Promise((r) => setTimeout(r, 500))]).finally(() => {
      if (signal) {
        for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.removeAllListeners(sig)
        process.kill(process.pid, signal)
        setTimeout(() => process.exit(128), 1000).unref()
      } else {
        process.exit(code ?? 1)
      }
    })
  })
}

main().catch((err: Error) => fail(`unexpected: ${err.stack ?? err.message}`, 1))
