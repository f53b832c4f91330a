/** Backup target URLs (src/lib/backup/url.ts): file:// and s3:// accepted forms, and every refusal with its reason. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {parseBackupTargetUrl} from '../../src/lib/backup/url.js'
import {BackupError} from '../../src/lib/backup/errors.js'
import {openBackupTarget} from '../../src/lib/backup/open.js'

const refused = (text: string, re: RegExp) =>
  assert.throws(
    () => parseBackupTargetUrl(text),
    (err: unknown) => err instanceof BackupError && err.code === 'BAD_TARGET' && re.test(err.message),
    text,
  )

describe('backup target URLs', () => {
  it('file:///abs/dir → the directory, normalised, percent-decoded, trailing slash dropped', () => {
    assert.deepEqual(parseBackupTargetUrl('file:///var/backups/etcd/'), {
      kind: 'file',
      dir: '/var/backups/etcd',
      url: 'file:///var/backups/etcd',
    })
    assert.deepEqual(parseBackupTargetUrl('file://localhost/mnt/nfs'), {kind: 'file', dir: '/mnt/nfs', url: 'file:///mnt/nfs'}) // check-paths: allow (a URL under test)
    assert.equal(parseBackupTargetUrl('FILE:///a%20b/c').kind, 'file')
    assert.deepEqual(parseBackupTargetUrl('file:///a%20b/c'), {kind: 'file', dir: '/a b/c', url: 'file:///a%20b/c'})
  })

  it('refuses bare paths, relative or root paths, hosts, dot segments, queries, other schemes', () => {
    refused('/var/backups', /a path, not a URL: write file:\/\/\/var\/backups/)
    refused('backups', /not a URL/)
    refused('', /empty/)
    refused('file://backups/etcd', /'backups' is read as a host: write file:\/\/\/backups\/etcd/)
    refused('file:/var/backups', /three slashes/)
    refused('file:///', /root directory/) // check-paths: allow (a URL under test)
    refused('file:///var/../etc', /'\.' or '\.\.' segments/)
    refused('file:///var/%2e%2e/etc', /'\.' or '\.\.' segments/)
    refused('file:///var/b?x=1', /no query or fragment/)
    refused('http://example.com/b', /unsupported scheme 'http:'/)
  })

  it('s3://bucket[/prefix] → bucket and prefix', () => {
    assert.deepEqual(parseBackupTargetUrl('s3://my-bucket'), {kind: 's3', bucket: 'my-bucket', prefix: '', url: 's3://my-bucket'})
    assert.deepEqual(parseBackupTargetUrl('s3://my.bucket/etcd/prod/'), {
      kind: 's3',
      bucket: 'my.bucket',
      prefix: 'etcd/prod',
      url: 's3://my.bucket/etcd/prod',
    })
  })

  it('refuses bad buckets, credentials, ports, empty or dot prefix segments', () => {
    refused('s3://', /no bucket/)
    refused('s3:///prefix', /no bucket/)
    refused('s3://My_Bucket/x', /not a valid S3 bucket name/)
    refused('s3://ab/x', /not a valid S3 bucket name/)
    refused('s3://a..b/x', /not a valid S3 bucket name/)
    refused('s3://192.168.1.1/x', /not a valid S3 bucket name/)
    refused('s3://key:secret@bucket/x', /credentials do not belong in the URL/)
    refused('s3://bucket:9000/x', /no port/)
    refused('s3://bucket/a//b', /empty, '\.' or '\.\.' segments/)
    refused('s3://bucket/a/../b', /empty, '\.' or '\.\.' segments/)
    refused('s3://bucket/x?versionId=1', /no query or fragment/)
  })

  it('a password never appears in the error', () => {
    assert.throws(
      () => parseBackupTargetUrl('s3://key:hunter2@bucket/x'),
      (err: Error) => !err.message.includes('hunter2') || assert.fail(err.message),
    )
  })

  it('an s3:// target with bad S3 options is refused before any request; a missing file:// directory is refused', async () => {
    await assert.rejects(
      openBackupTarget('s3://bucket/x', {s3: {endpoint: 'http://key:hunter2@127.0.0.1:1'}}),
      (err: BackupError) =>
        (err.code === 'BAD_TARGET' && /credentials do not belong in the endpoint/.test(err.message) && !err.message.includes('hunter2')) ||
        assert.fail(String(err)),
    )
    await assert.rejects(
      openBackupTarget('file:///nonexistent-b15/dir'),
      (err: BackupError) => err.code === 'IO' && /does not exist/.test(err.message),
    )
  })
})
