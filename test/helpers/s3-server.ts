/**
 * Test harness: a REAL S3-compatible server in its own process: s3rver (npm @20minutes/s3rver, a maintained fork of
 * s3rver for Node >= 20; pure JavaScript, file-system store) on a free loopback port with a temp directory. It speaks
 * the S3 REST API over HTTP: SigV4-signed requests (wrong keys are refused: InvalidAccessKeyId /
 * SignatureDoesNotMatch), ListObjectsV2 with continuation tokens, multipart uploads, path-style addressing.
 * The launcher fixes one s3rver bug: its SigV4 check drops the '/' ending SDK v3's bucket-level paths.
 * Its limits against AWS S3 (docs/backups.md): it ignores `If-None-Match: *` on writes (no conditional put), has
 * no AbortMultipartUpload (an aborted upload's parts stay in its uploads directory, invisible to list and get),
 * writes objects in place (a concurrent reader may see a partial object), has no versioning, lifecycle or ACLs.
 *
 * Buckets are created at start (`buckets`); the credentials are `accessKeyId` / `secretAccessKey` (random per
 * server, besides s3rver's built-in S3RVER/S3RVER pair). Typical start: ~0.5-1 s.
 */
import fs from 'node:fs/promises'
import {execFileSync} from 'node:child_process'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {randomBytes} from 'node:crypto'
import {fileURLToPath} from 'node:url'
import type {ChildProcess} from 'node:child_process'
import {freePort} from './ports.js'
import {spawnTracked, stopTracked} from './procs.js'

export interface S3Server {
  port: number
  /** http://127.0.0.1:<port> (https with `tls`) */
  endpoint: string
  /** With `tls`: the server's self-signed certificate (for 127.0.0.1), its own CA. */
  caFile?: string
  accessKeyId: string
  secretAccessKey: string
  region: string
  /** The server's root directory (its store under data/, its log in s3rver.log). */
  dir: string
  stop(): Promise<void>
}

// The launcher run by `node -e`: argv = [module path, dir, port, key id, secret, ...buckets].
const LAUNCHER = `
const [modPath, dir, port, keyId, secret, ...buckets] = process.argv.slice(1);
const path = require('path');
const S3rver = require(modPath);
const Account = require(path.join(path.dirname(modPath), 'models', 'account.js'));
const v4 = require(path.join(path.dirname(modPath), 'signature', 'v4.js'));
Account.DUMMY_ACCOUNT.createKeyPair(keyId, secret);
// s3rver rebuilds the canonical URI from the bucket and key and drops the '/' that ends SDK v3's bucket-level
// paths ('/bucket/?list-type=2'): every such request would fail SignatureDoesNotMatch. AWS signs the path as sent.
const RAW_PATH = Symbol('raw path');
const getStringToSign = v4.getStringToSign;
v4.getStringToSign = (req, sig) =>
  getStringToSign(req.headers[RAW_PATH] === req.uri + '/' ? {...req, uri: req.uri + '/'} : req, sig);
const server = new S3rver({
  address: '127.0.0.1', port: Number(port), directory: require('path').join(dir, 'data'), silent: true,
  vhostBuckets: false, configureBuckets: buckets.map((name) => ({name})),
});
server.middleware.unshift((ctx, next) => {
  Object.defineProperty(ctx.req.headers, RAW_PATH, {value: ctx.path, enumerable: false});
  return next();
});
if (process.env.S3RVER_TLS_DIR) {
  // s3rver serves https when given a key and certificate.
  server.serverOptions.key = require('fs').readFileSync(path.join(process.env.S3RVER_TLS_DIR, 'key.pem'));
  server.serverOptions.cert = require('fs').readFileSync(path.join(process.env.S3RVER_TLS_DIR, 'cert.pem'));
}
server.run().then((addr) => console.log('listening ' + addr.port), (err) => { console.error(String(err && err.stack || err)); process.exit(1); });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
`

/** Resolves once `endpoint` gives any HTTP answer (an unauthenticated GET / is refused with 403: it answers). */
function answers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const get = endpoint.startsWith('https:') ? https.get : http.get
    const req = get(`${endpoint}/`, {timeout: 1000, rejectUnauthorized: false}, (res) => {
      res.resume()
      resolve(true)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })
}

export async function startS3Server(opts: {buckets?: string[]; tls?: boolean} = {}): Promise<S3Server> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'etcd-mesos-s3-'))
  await fs.mkdir(path.join(dir, 'data'))
  const port = await freePort()
  const endpoint = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`
  if (opts.tls)
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1'].concat([
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]),
      {cwd: dir, stdio: 'ignore'},
    )
  const accessKeyId = `TEST${randomBytes(8).toString('hex').toUpperCase()}`
  const secretAccessKey = randomBytes(20).toString('base64url')
  const modPath = fileURLToPath(import.meta.resolve('@20minutes/s3rver'))
  const child: ChildProcess = spawnTracked(
    process.execPath,
    // s3rver's ListObjectsV2 continuation tokens are DES-encrypted: OpenSSL 3 has DES in its legacy provider only.
    ['--openssl-legacy-provider', '-e', LAUNCHER, modPath, dir, String(port), accessKeyId, secretAccessKey, ...(opts.buckets ?? [])],
    {cwd: dir, env: {...process.env, S3RVER_TLS_DIR: opts.tls ? dir : ''}},
  )
  let log = ''
  const keep = (d: Buffer): void => {
    log = (log + d.toString()).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let exited = false
  child.once('exit', () => {
    exited = true
    void fs.writeFile(path.join(dir, 's3rver.log'), log).catch(() => undefined)
  })
  const deadline = Date.now() + 30_000
  for (;;) {
    if (exited) {
      await fs.rm(dir, {recursive: true, force: true})
      throw new Error(`s3rver exited during start (port ${port}): ${log}`)
    }
    if (log.includes('listening') && (await answers(endpoint))) break
    if (Date.now() > deadline) {
      await stopTracked(child, 'SIGKILL')
      throw new Error(`s3rver did not answer on ${endpoint} within 30 s: ${log}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    port,
    endpoint,
    caFile: opts.tls ? path.join(dir, 'cert.pem') : undefined,
    accessKeyId,
    secretAccessKey,
    region: 'us-east-1',
    dir,
    async stop() {
      await stopTracked(child, 'SIGTERM', 5000)
      if (!process.env.KEEP_TEST_DIRS) await fs.rm(dir, {recursive: true, force: true})
    },
  }
}
