/**
 * Test harness: a REAL standalone ZooKeeper (Debian's zookeeper 3.8) on a free loopback port with a temp data dir.
 * Started directly with java (not zkServer.sh): /usr/share/java/zookeeper.jar carries its dependencies in its
 * manifest Class-Path; slf4j-simple sends the server log to <dir>/zookeeper.log. Typical start: ~0.3-1 s.
 * stop() + start() restarts it on the same port and data (sessions and persistent nodes survive).
 */
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type {ChildProcess} from 'node:child_process'
import {ZkClient} from '../../src/lib/zk/client.js'
import {freePort} from './ports.js'
import {spawnTracked, stopTracked} from './procs.js'

export interface ZkServer {
  port: number
  /** zk://127.0.0.1:<port> */
  url: string
  dataDir: string
  /** Milliseconds the last start took until `ruok` answered `imok`. */
  startMs: number
  stop(): Promise<void>
  /** Restart after stop() on the same port and data. */
  start(): Promise<void>
}

const ZK_JARS = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar']

/** Sends a four-letter-word command; resolves with the reply ('' on any error). */
export function fourLetterWord(port: number, cmd: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let out = ''
    const sock = net.connect({host: '127.0.0.1', port})
    const done = (): void => {
      sock.destroy()
      resolve(out)
    }
    sock.setTimeout(timeoutMs, done)
    sock.on('connect', () => sock.write(cmd))
    sock.on('data', (d) => (out += d.toString('utf8')))
    sock.on('end', done)
    sock.on('error', () => done())
  })
}

export async function startZooKeeper(opts: {tickTime?: number} = {}): Promise<ZkServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'etcd-mesos-zk-'))
  const dataDir = path.join(dir, 'data')
  await fs.mkdir(dataDir)
  const port = await freePort()
  const cfg = path.join(dir, 'zoo.cfg')
  await fs.writeFile(
    cfg,
    [
      `tickTime=${opts.tickTime ?? 500}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr',
      'maxSessionTimeout=60000',
      'maxClientCnxns=200',
      'autopurge.purgeInterval=0',
      '',
    ].join('\n'),
  )

  let child: ChildProcess | undefined
  let stderrTail = ''

  const server: ZkServer = {
    port,
    url: `zk://127.0.0.1:${port}`,
    dataDir,
    startMs: 0,
    async start() {
      if (child) throw new Error('ZooKeeper is already running')
      const t0 = Date.now()
      const c = spawnTracked(
        'java',
        [
          '-Xmx256m',
          '-XX:+UseSerialGC',
          '-XX:TieredStopAtLevel=1',
          '-Xshare:auto',
          '-Djava.net.preferIPv4Stack=true',
          `-Dorg.slf4j.simpleLogger.logFile=${path.join(dir, 'zookeeper.log')}`,
          '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
          '-Dzookeeper.jmx.log4j.disable=true',
          '-cp',
          ZK_JARS.join(':'),
          'org.apache.zookeeper.server.quorum.QuorumPeerMain',
          cfg,
        ],
        {cwd: dir},
      )
      child = c
      c.stderr?.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString()).slice(-2000)))
      c.stdout?.resume()
      let exited = false
      c.once('exit', () => {
        exited = true
        if (child === c) child = undefined
      })
      const deadline = Date.now() + 30_000
      for (;;) {
        if (exited) {
          const log = await fs.readFile(path.join(dir, 'zookeeper.log'), 'utf8').catch(() => '')
          throw new Error(`ZooKeeper exited during start (port ${port}): ${stderrTail}\n${log.slice(-2000)}`)
        }
        if ((await fourLetterWord(port, 'ruok', 500)) === 'imok') break
        if (Date.now() > deadline) {
          await stopTracked(c, 'SIGKILL')
          throw new Error(`ZooKeeper did not answer ruok on 127.0.0.1:${port} within 30 s; log in ${dir}`)
        }
        await new Promise((r) => setTimeout(r, 50))
      }
      server.startMs = Date.now() - t0
    },
    async stop() {
      const c = child
      child = undefined
      if (c) await stopTracked(c, 'SIGTERM', 3000)
    },
  }
  await server.start()
  return server
}

/** Stops the server and removes its temp dir. */
export async function destroyZooKeeper(zk: ZkServer | undefined): Promise<void> {
  if (!zk) return
  await zk.stop()
  await fs.rm(path.dirname(zk.dataDir), {recursive: true, force: true})
}

/** `fn` with a fresh client of the ZooKeeper at `url` (zk://host:port), closed afterwards. */
export async function withZkClient<T>(url: string, fn: (c: ZkClient) => Promise<T>): Promise<T> {
  const c = await ZkClient.connect(url, {connectTimeoutMs: 5000})
  try {
    return await fn(c)
  } finally {
    await c.close()
  }
}
