/**
 * The AWS SDK is loaded only when an s3:// target is opened: importing the backup library, opening a file://
 * target and resolving S3 options load none of it (a scheduler or executor without S3 keeps its memory).
 * Its own file: node --test runs each file in a fresh process, so the module cache starts empty.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

const req = createRequire(import.meta.url)
const sdkModules = () => Object.keys(req.cache).filter((k) => k.includes(`${path.sep}@aws-sdk${path.sep}`))

describe('the AWS SDK is loaded lazily', () => {
  it('not by the library, a file:// target or resolveS3Options; by opening an s3:// target', async () => {
    const lib = await import('../../src/lib/backup/index.js')
    const {resolveS3Options} = await import('../../src/lib/backup/s3-options.js')
    const dir = await mkdtemp(path.join(os.tmpdir(), 's3-lazy-'))
    try {
      await lib.openBackupTarget(`file://${dir}`)
      resolveS3Options({flags: {endpoint: 'http://127.0.0.1:1'}, env: {}, homeDir: dir})
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
    assert.deepEqual(sdkModules(), [])
    // A closed port: the open fails (connection refused), after loading the SDK.
    await assert.rejects(
      lib.openBackupTarget('s3://bucket/x', {s3: {endpoint: 'http://127.0.0.1:1', accessKeyId: 'A', secretAccessKey: 'B'}}),
      /unreachable/,
    )
    assert.ok(
      sdkModules().some((k) => k.includes('client-s3')),
      'client-s3 loaded',
    )
  })
})
