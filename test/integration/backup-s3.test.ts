/**
 * The s3:// backup target (src/lib/backup/s3-target.ts) against a REAL S3-compatible server in its own process
 * (s3rver, test/helpers/s3-server.ts) and a real etcd 3.4 member; the same guarantees as backup.test.ts for file://:
 *   - a backup taken into s3://bucket/prefix is stored under the prefix, listed, read back verified byte for byte;
 *   - a stored object with a flipped byte, or missing, is refused with CORRUPT naming the backup;
 *   - never an overwrite (EXISTS, object unchanged); a put whose data fails mid-way (multipart) publishes nothing;
 *   - list pages through more than 1000 keys (ListObjectsV2 continuation) and ignores keys that are not objects of
 *     this target (deeper prefixes, other prefixes); delete is idempotent; retention deletes data and manifests;
 *   - wrong keys → IO saying the credentials were refused (no key in the message); a missing bucket, a refused
 *     connection and an endpoint that never answers → IO naming them, in bounded time;
 *   - an https endpoint is trusted with its CA bundle (caFile) and refused without it, naming the certificate problem;
 *   - a 64 MiB object is written and read back with a bounded amount of memory (multipart parts of 8 MiB).
 */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'
import {DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {startEtcdCluster, putKey, type EtcdCluster} from '../helpers/etcd.js'
import {freePort} from '../helpers/ports.js'
import {startS3Server, type S3Server} from '../helpers/s3-server.js'
import {
  BackupError,
  applyRetention,
  dataName,
  listBackups,
  manifestName,
  openBackupTarget,
  saveBackupToFile,
  takeBackup,
  verifyBackup,
  type BackupTarget,
} from '../../src/lib/backup/index.js'
import type {S3Options} from '../../src/lib/backup/s3-options.js'
import {S3BackupTarget} from '../../src/lib/backup/s3-target.js'

const isCode = (code: string, re: RegExp) => (err: unknown) =>
  (err instanceof BackupError && err.code === code && re.test(err.message)) || assert.fail(`expected ${code} ${re}, got ${String(err)}`)

const BUCKET = 'etcd-backups'
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true' // the raw client below is made before the target's
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

describe('backup library on a real etcd member and an s3:// target (s3rver)', {timeout: 300_000}, () => {
  let cluster: EtcdCluster
  let s3: S3Server
  let opts: S3Options
  let raw: S3Client
  let target: BackupTarget
  let endpoint: string
  let tmp: string
  const closers: BackupTarget[] = []
  const open = async (url: string, o: S3Options = opts): Promise<BackupTarget> => {
    const t = await openBackupTarget(url, {s3: o})
    closers.push(t)
    return t
  }
  const rawBody = async (key: string): Promise<Buffer> => {
    const res = await raw.send(new GetObjectCommand({Bucket: BUCKET, Key: key}))
    return Buffer.from(await res.Body!.transformToByteArray())
  }
  const rawPut = (key: string, body: Buffer | string) => raw.send(new PutObjectCommand({Bucket: BUCKET, Key: key, Body: body}))

  before(async () => {
    ;[cluster, s3, tmp] = await Promise.all([
      startEtcdCluster(1),
      startS3Server({buckets: [BUCKET, 'other-bucket']}),
      mkdtemp(path.join(os.tmpdir(), 'backup-s3-test-')),
    ])
    endpoint = cluster.endpoints[0]!
    opts = {
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    }
    raw = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: {accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey},
    })
    await rawPut('cluster-a/README', 'a stray object: not a backup, never listed as one')
    target = await open(`s3://${BUCKET}/cluster-a`)
    for (let i = 0; i < 20; i++) await putKey(endpoint, `s3/k${i}`, `value-${i}-${'x'.repeat(20_000)}`)
  })
  after(async () => {
    for (const t of closers) (t as {close?: () => void}).close?.()
    raw?.destroy()
    await Promise.all([cluster?.stop(), s3?.stop()])
    if (tmp) await rm(tmp, {recursive: true, force: true})
  })

  it('takes a backup into s3://bucket/prefix: stored under the prefix, listed, read back verified byte for byte', async () => {
    const m = await takeBackup({endpoint, target})
    assert.equal(m.kind, 'full')
    const keys = (await raw.send(new ListObjectsV2Command({Bucket: BUCKET}))).Contents!.map((o) => o.Key).sort()
    assert.deepEqual(keys, [`cluster-a/${m.data}`, `cluster-a/${manifestName(m.id)}`, 'cluster-a/README'].sort())
    assert.deepEqual(await target.list(), [m.data, manifestName(m.id), 'README'].sort())
    const listing = await listBackups(target)
    assert.deepEqual(listing.backups, [m])
    assert.deepEqual(await verifyBackup(target, m.id), m)
    const file = path.join(tmp, 'saved.db')
    await saveBackupToFile(target, m.id, file)
    const saved = await readFile(file)
    assert.equal(saved.length, m.size)
    assert.deepEqual(saved, await rawBody(`cluster-a/${m.data}`))
    // etcd's trailing sha256 is the hash of everything before it.
    assert.deepEqual(createHash('sha256').update(saved.subarray(0, -32)).digest(), saved.subarray(-32))
    // The same bucket without a prefix sees the objects under their full key only as deeper keys: not listed.
    const root = await open(`s3://${BUCKET}`)
    assert.deepEqual(await root.list(), [])
  })

  it('a stored object with a flipped byte, or missing, is refused with CORRUPT naming the backup', async () => {
    const m = await takeBackup({endpoint, target})
    const key = `cluster-a/${m.data}`
    const pristine = await rawBody(key)
    const flipped = Buffer.from(pristine)
    flipped[5000] = (flipped[5000] ?? 0) ^ 1
    await rawPut(key, flipped)
    await assert.rejects(verifyBackup(target, m.id), isCode('CORRUPT', new RegExp(`^backup ${m.id} is corrupt: sha256 mismatch`)))
    await raw.send(new DeleteObjectCommand({Bucket: BUCKET, Key: key}))
    await assert.rejects(verifyBackup(target, m.id), isCode('CORRUPT', /its data .* is missing/))
    await assert.rejects(target.get(m.data), isCode('NOT_FOUND', new RegExp(`${m.data} not found in s3://${BUCKET}/cluster-a`)))
    await rawPut(key, pristine)
    assert.deepEqual(await verifyBackup(target, m.id), m)
  })

  it('never overwrites; a put whose data fails mid-way (multipart) publishes nothing; delete is idempotent', async () => {
    const {backups} = await listBackups(target)
    const newest = backups[0]!
    await assert.rejects(target.put(manifestName(newest.id), Buffer.from('{}')), isCode('EXISTS', /already exists in s3:\/\//))
    await assert.rejects(target.put(dataName(newest.id), Buffer.from('x')), isCode('EXISTS', /already exists/))
    assert.deepEqual(await verifyBackup(target, newest.id), newest)

    const names = await target.list()
    async function* failing() {
      for (let i = 0; i < 20; i++) yield Buffer.alloc(1024 * 1024, i) // 20 MiB: two parts uploaded before the failure
      throw new Error('verification failed')
    }
    await assert.rejects(target.put('half.snapshot.db', failing()), /verification failed/)
    assert.deepEqual(await target.list(), names)
    await assert.rejects(target.get('half.snapshot.db'), isCode('NOT_FOUND', /half\.snapshot\.db not found/))

    await target.put('gone.txt', Buffer.from('x'))
    await target.delete('gone.txt')
    await target.delete('gone.txt')
    await target.delete('never-was.txt')
    assert.deepEqual(await target.list(), names)
  })

  it('list pages through more than 1000 keys and returns only this prefix’s objects, sorted', async () => {
    const t = await open(`s3://${BUCKET}/many`)
    const names = Array.from({length: 1010}, (_, i) => `obj-${String(i).padStart(4, '0')}`)
    for (let i = 0; i < names.length; i += 25) await Promise.all(names.slice(i, i + 25).map((n) => t.put(n, Buffer.from(n))))
    await rawPut('many/deeper/obj-x', 'under a deeper prefix')
    await rawPut('many-more/obj-y', 'a sibling prefix')
    await rawPut('many/.hidden', 'not an object name')
    const listed = await t.list()
    assert.equal(listed.length, 1010)
    assert.deepEqual(listed, names)
    assert.equal((await (await t.get('obj-0777')).toArray()).join(''), 'obj-0777')
  })

  it('retention deletes the expired backups (manifest and data) and keeps the newest', async () => {
    await takeBackup({endpoint, target})
    const {backups} = await listBackups(target)
    assert.ok(backups.length >= 3, `${backups.length} backups`)
    const deleted = await applyRetention(target, {keepCount: 1}, Date.now())
    assert.deepEqual(
      deleted,
      backups.slice(1).map((b) => b.id),
    )
    assert.deepEqual((await listBackups(target)).backups, [backups[0]])
    assert.deepEqual(await target.list(), [backups[0]!.data, manifestName(backups[0]!.id), 'README'].sort())
  })

  it('wrong keys, a missing bucket, an unreachable endpoint: IO errors naming the problem, never a key', async () => {
    const wrongSecret = {...opts, secretAccessKey: 'not-the-secret-0123456789'}
    await assert.rejects(open(`s3://${BUCKET}/cluster-a`, wrongSecret), (err: unknown) => {
      isCode('IO', new RegExp(`S3 store at ${s3.endpoint} refused the credentials for bucket ${BUCKET}`))(err)
      const text = String((err as Error).message)
      assert.ok(!text.includes(wrongSecret.secretAccessKey) && !text.includes(s3.accessKeyId), text)
      return true
    })
    await assert.rejects(
      open(`s3://${BUCKET}/cluster-a`, {...opts, accessKeyId: 'AKIAUNKNOWN000000000'}),
      isCode('IO', /refused the credentials/),
    )
    await assert.rejects(
      open('s3://no-such-bucket/x', opts),
      isCode('IO', new RegExp(`bucket no-such-bucket does not exist at ${s3.endpoint}`)),
    )
    const port = await freePort()
    await assert.rejects(
      open('s3://b-unreachable/x', {...opts, endpoint: `http://127.0.0.1:${port}`}),
      isCode('IO', new RegExp(`S3 endpoint http://127\\.0\\.0\\.1:${port} unreachable \\(ECONNREFUSED\\)`)),
    )
  })

  it('an endpoint that accepts connections and never answers fails with IO naming it, within the idle timeout', async () => {
    const socks = new Set<net.Socket>()
    const silent = net.createServer((sock) => socks.add(sock.on('error', () => undefined)))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as net.AddressInfo).port
    const t = await S3BackupTarget.create(
      {bucket: BUCKET, prefix: 'x'},
      {...opts, endpoint: `http://127.0.0.1:${port}`},
      {connectMs: 1000, idleMs: 1000, maxAttempts: 1},
    )
    try {
      await assert.rejects(
        t.check(),
        isCode('IO', new RegExp(`S3 endpoint http://127\\.0\\.0\\.1:${port} unreachable \\(timed out: .*inactivity`)),
      )
      await assert.rejects(t.list(), isCode('IO', /unreachable \(timed out/))
    } finally {
      t.close()
      for (const sock of socks) sock.destroy()
      await new Promise((r) => silent.close(r))
    }
  })

  it('an https endpoint: trusted with its CA bundle (caFile), refused without it naming the certificate problem', async () => {
    const tls = await startS3Server({buckets: ['tls-bucket'], tls: true})
    try {
      const o: S3Options = {...opts, endpoint: tls.endpoint, accessKeyId: tls.accessKeyId, secretAccessKey: tls.secretAccessKey}
      await assert.rejects(
        open('s3://tls-bucket/x', o),
        isCode('IO', new RegExp(`the TLS certificate of S3 endpoint ${tls.endpoint} is not trusted \\(DEPTH_ZERO_SELF_SIGNED_CERT\\)`)),
      )
      const t = await open('s3://tls-bucket/x', {...o, caFile: tls.caFile})
      await t.put('a.txt', Buffer.from('over https'))
      assert.deepEqual(await t.list(), ['a.txt'])
      assert.equal((await (await t.get('a.txt')).toArray()).join(''), 'over https')
      await assert.rejects(
        open('s3://tls-bucket/x', {...o, caFile: path.join(tmp, 'no-such-ca.pem')}),
        isCode('BAD_TARGET', /CA file .* cannot be read: ENOENT/),
      )
    } finally {
      await tls.stop()
    }
  })

  it('a 64 MiB object is written and read back through a bounded amount of memory', async () => {
    const t = await open(`s3://${BUCKET}/big`)
    const chunk = (i: number) => Buffer.alloc(256 * 1024, i % 251)
    const n = 256 // 64 MiB
    // Live memory (after a full GC, every 16 chunks: the garbage between two GCs is V8's business) against a
    // baseline taken after a GC: heap + Buffers' ArrayBuffers.
    const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
    gc()
    const base = used()
    let peak = 0
    let k = 0
    const sample = () => {
      if (++k % 16 !== 0) return
      gc()
      peak = Math.max(peak, used() - base)
    }
    const h = createHash('sha256')
    async function* data() {
      for (let i = 0; i < n; i++) {
        sample()
        const c = chunk(i)
        h.update(c)
        yield c
      }
    }
    assert.deepEqual(await t.put('big.bin', data()), {size: n * 256 * 1024})
    const expected = h.digest('hex')
    const back = createHash('sha256')
    let size = 0
    for await (const c of await t.get('big.bin')) {
      sample()
      back.update(c as Buffer)
      size += (c as Buffer).length
    }
    assert.equal(size, n * 256 * 1024)
    assert.equal(back.digest('hex'), expected)
    console.log(`64 MiB put + get: peak live memory growth ${(peak / 2 ** 20).toFixed(1)} MiB`)
    // Parts of 8 MiB (the one being filled, its concatenation, the one in flight): far below the 64 MiB object.
    assert.ok(peak < 40 * 2 ** 20, `peak live memory growth ${peak} bytes`)
  })
})
