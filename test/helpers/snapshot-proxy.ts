/**
 * A faulty path between the backup library and a REAL etcd: an HTTP server on a free loopback port that forwards
 * every POST to the member's JSON gateway, and on /v3/maintenance/snapshot can damage the real stream:
 *   'flip'  flips one byte of the database in the 3rd message (re-encoded, so the stream stays well-formed JSON)
 *   'cut'   closes the connection after `afterBytes` bytes of the answer
 *   'stall' forwards `afterBytes` bytes, then nothing more (until the client gives up); `stalled` resolves then
 *   'pass'  forwards unchanged
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'

export type SnapshotFault = 'pass' | 'flip' | 'cut' | 'stall'

export interface SnapshotProxy {
  url: string
  fault: SnapshotFault
  afterBytes: number
  /** Resolves when a 'stall' proxy has forwarded its bytes and stopped. */
  stalled: Promise<void>
  close(): Promise<void>
}

export async function startSnapshotProxy(etcdUrl: string, fault: SnapshotFault = 'pass', afterBytes = 200_000): Promise<SnapshotProxy> {
  let onStalled: () => void = () => undefined
  const stalled = new Promise<void>((r) => {
    onStalled = r
  })
  const proxy = {fault, afterBytes} as SnapshotProxy
  const upstreams = new Set<http.ClientRequest>()
  const server = http.createServer((req, res) => {
    const up = http.request(new URL(req.url ?? '/', etcdUrl), {method: 'POST', headers: {'content-type': 'application/json'}}, (upRes) => {
      res.writeHead(upRes.statusCode ?? 500, {'content-type': 'application/json'})
      if (!req.url?.endsWith('/snapshot') || proxy.fault === 'pass') {
        upRes.pipe(res)
        return
      }
      let sent = 0
      let lines = 0
      let pending = ''
      upRes.on('data', (chunk: Buffer) => {
        if (proxy.fault === 'flip') {
          pending += chunk.toString('latin1')
          for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
            let line = pending.slice(0, nl)
            pending = pending.slice(nl + 1)
            if (++lines === 3) {
              const msg = JSON.parse(line) as {result: {blob: string}}
              const blob = Buffer.from(msg.result.blob, 'base64')
              blob[100] = (blob[100] ?? 0) ^ 0xff
              msg.result.blob = blob.toString('base64')
              line = JSON.stringify(msg)
            }
            res.write(`${line}\n`)
          }
          return
        }
        const room = proxy.afterBytes - sent
        if (room <= 0) return
        res.write(chunk.subarray(0, room))
        sent += Math.min(room, chunk.length)
        if (sent < proxy.afterBytes) return
        if (proxy.fault === 'cut') {
          upRes.destroy()
          res.socket?.destroy()
        } else {
          upRes.pause()
          onStalled()
        }
      })
      upRes.on('end', () => {
        if (pending) res.write(pending)
        res.end()
      })
    })
    upstreams.add(up)
    up.on('close', () => upstreams.delete(up))
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  proxy.stalled = stalled
  proxy.close = async () => {
    for (const up of upstreams) up.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return proxy
}
