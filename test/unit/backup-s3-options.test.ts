/** S3 options (src/lib/backup/s3-options.ts): precedence flags > env > credentials file, validation, masking. */
import {describe, it, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {BackupError} from '../../src/lib/backup/errors.js'
import {
  describeS3Options,
  parseCredentialsIni,
  resolveS3Options,
  s3OptionsWithoutSecrets,
  validateS3Endpoint,
} from '../../src/lib/backup/s3-options.js'

const refused = (fn: () => unknown, re: RegExp, secret?: string) =>
  assert.throws(fn, (err: unknown) => {
    if (!(err instanceof BackupError) || err.code !== 'BAD_TARGET' || !re.test(err.message))
      assert.fail(`expected BAD_TARGET ${re}, got ${String(err)}`)
    if (secret && err.message.includes(secret)) assert.fail(`the message shows the secret: ${err.message}`)
    return true
  })

const INI = `# comment
[default]
aws_access_key_id = AKIADEFAULT000000000
aws_secret_access_key = default-secret
region = eu-west-3

[profile backups]
aws_access_key_id=AKIABACKUPS000000000
aws_secret_access_key=backups-secret
aws_session_token = backups-token

[half]
aws_access_key_id = AKIAHALF
`

describe('S3 options', () => {
  let home: string
  let file: string
  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 's3-options-'))
    await mkdir(path.join(home, '.aws'))
    file = path.join(home, 'creds.ini')
    await writeFile(file, INI)
  })
  after(() => rm(home, {recursive: true, force: true}))

  it('no input: AWS, us-east-1, virtual-hosted addressing, no keys (the SDK chain decides)', () => {
    assert.deepEqual(resolveS3Options({env: {}, homeDir: home}), {forcePathStyle: false, region: 'us-east-1'})
  })

  it('endpoint: flag > ETCD_MESOS_BACKUP_S3_ENDPOINT > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL; path style by default with one', () => {
    const env = {
      ETCD_MESOS_BACKUP_S3_ENDPOINT: 'http://a:1',
      AWS_ENDPOINT_URL_S3: 'http://b:2',
      AWS_ENDPOINT_URL: 'http://c:3',
    }
    const r = (flags: object, e: Record<string, string>) => resolveS3Options({flags, env: e, homeDir: home})
    assert.equal(r({endpoint: 'https://flag.example:9000/'}, env).endpoint, 'https://flag.example:9000')
    assert.equal(r({}, env).endpoint, 'http://a:1')
    assert.equal(r({}, {AWS_ENDPOINT_URL_S3: 'http://b:2', AWS_ENDPOINT_URL: 'http://c:3'}).endpoint, 'http://b:2')
    assert.equal(r({}, {AWS_ENDPOINT_URL: 'http://c:3'}).endpoint, 'http://c:3')
    assert.equal(r({}, env).forcePathStyle, true)
    assert.equal(r({forcePathStyle: false}, env).forcePathStyle, false)
    assert.equal(r({}, {...env, ETCD_MESOS_BACKUP_S3_PATH_STYLE: 'false'}).forcePathStyle, false)
    assert.equal(r({}, {ETCD_MESOS_BACKUP_S3_PATH_STYLE: 'yes'}).forcePathStyle, true)
  })

  it('keys: flags > env > credentials file; a flag naming a file or profile beats the env keys', () => {
    const env = {AWS_ACCESS_KEY_ID: 'AKIAENV0000000000000', AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_SESSION_TOKEN: 'env-token'}
    const flags = {accessKeyId: 'AKIAFLAG000000000000', secretAccessKey: 'flag-secret'}
    const r = (f: object, e: Record<string, string>) => resolveS3Options({flags: f, env: e, homeDir: home})
    assert.deepEqual(
      {...r(flags, env)},
      {forcePathStyle: false, accessKeyId: 'AKIAFLAG000000000000', secretAccessKey: 'flag-secret', region: 'us-east-1'},
    )
    const fromEnv = r({}, env)
    assert.equal(fromEnv.accessKeyId, 'AKIAENV0000000000000')
    assert.equal(fromEnv.sessionToken, 'env-token')
    const fromFile = r({credentialsFile: file, profile: 'backups'}, env)
    assert.equal(fromFile.accessKeyId, 'AKIABACKUPS000000000')
    assert.equal(fromFile.secretAccessKey, 'backups-secret')
    assert.equal(fromFile.sessionToken, 'backups-token')
    assert.equal(fromFile.credentialsFile, file)
    assert.equal(fromFile.profile, 'backups')
    // Env names the file and profile when no keys are in the env; the profile's region is the last resort.
    const viaEnv = r({}, {AWS_SHARED_CREDENTIALS_FILE: file})
    assert.equal(viaEnv.accessKeyId, 'AKIADEFAULT000000000')
    assert.equal(viaEnv.region, 'eu-west-3')
    assert.equal(r({}, {AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'backups'}).accessKeyId, 'AKIABACKUPS000000000')
    assert.equal(r({}, {AWS_SHARED_CREDENTIALS_FILE: file, AWS_REGION: 'ap-south-1'}).region, 'ap-south-1')
  })

  it('~/.aws/credentials is read when nothing else gives keys, and skipped when it does not exist', async () => {
    assert.equal(resolveS3Options({env: {}, homeDir: home}).accessKeyId, undefined)
    await writeFile(path.join(home, '.aws', 'credentials'), INI)
    try {
      const o = resolveS3Options({env: {}, homeDir: home})
      assert.equal(o.accessKeyId, 'AKIADEFAULT000000000')
      assert.equal(o.credentialsFile, path.join(home, '.aws', 'credentials'))
      // A default profile missing from it is not an error (no keys: the SDK chain decides).
      await writeFile(path.join(home, '.aws', 'credentials'), '[other]\naws_access_key_id=A\naws_secret_access_key=B\n')
      assert.equal(resolveS3Options({env: {}, homeDir: home}).accessKeyId, undefined)
    } finally {
      await rm(path.join(home, '.aws', 'credentials'))
    }
  })

  it('region: flag > ETCD_MESOS_BACKUP_S3_REGION > AWS_REGION > AWS_DEFAULT_REGION > us-east-1', () => {
    const r = (flags: object, env: Record<string, string>) => resolveS3Options({flags, env, homeDir: home}).region
    const env = {ETCD_MESOS_BACKUP_S3_REGION: 'eu-north-1', AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-2'}
    assert.equal(r({region: 'us-west-2'}, env), 'us-west-2')
    assert.equal(r({}, env), 'eu-north-1')
    assert.equal(r({}, {AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-2'}), 'eu-west-1')
    assert.equal(r({}, {AWS_DEFAULT_REGION: 'eu-west-2'}), 'eu-west-2')
    assert.equal(r({}, {}), 'us-east-1')
  })

  it('refuses bad endpoints, half key pairs, unreadable or incomplete credentials, bad regions: naming the problem', () => {
    refused(() => validateS3Endpoint('127.0.0.1:9000'), /expected http\(s\):\/\/host\[:port\]/)
    refused(() => validateS3Endpoint('ftp://host'), /expected http\(s\):\/\/host\[:port\]/)
    refused(() => validateS3Endpoint('http://AKIA:hunter2@host:9000'), /credentials do not belong in the endpoint/, 'hunter2')
    refused(() => validateS3Endpoint('http://host:9000/bucket'), /no path allowed/)
    refused(() => validateS3Endpoint('http://host:9000/?x=1'), /no query or fragment/)
    refused(() => validateS3Endpoint('http://host:99999'), /not a valid URL/)
    const r =
      (flags: object, env: Record<string, string> = {}) =>
      () =>
        resolveS3Options({flags, env, homeDir: home})
    refused(r({endpoint: 'http://u:hunter2@h'}), /credentials do not belong/, 'hunter2')
    refused(r({accessKeyId: 'AKIA'}), /needs its secret access key/)
    refused(r({}, {AWS_SECRET_ACCESS_KEY: 'hunter2'}), /must be set together/, 'hunter2')
    refused(r({credentialsFile: path.join(home, 'missing.ini')}), /credentials file .*missing\.ini cannot be read: ENOENT/)
    refused(r({credentialsFile: file, profile: 'nope'}), /has no profile \[nope\]/)
    refused(r({credentialsFile: file, profile: 'half'}), /profile \[half\]: needs both aws_access_key_id and aws_secret_access_key/)
    refused(r({}, {AWS_PROFILE: 'nope', AWS_SHARED_CREDENTIALS_FILE: file}), /has no profile \[nope\]/)
    refused(r({region: 'Not A Region'}), /invalid S3 region "Not A Region" \(flag\)/)
    refused(r({}, {ETCD_MESOS_BACKUP_S3_PATH_STYLE: 'maybe'}), /ETCD_MESOS_BACKUP_S3_PATH_STYLE "maybe": expected true or false/)
  })

  it('describeS3Options masks every secret; s3OptionsWithoutSecrets drops the keys', () => {
    const o = resolveS3Options({
      flags: {endpoint: 'http://127.0.0.1:9000'},
      env: {AWS_ACCESS_KEY_ID: 'AKIASECRETID00000000', AWS_SECRET_ACCESS_KEY: 'hunter2-secret', AWS_SESSION_TOKEN: 'tok-hunter2'},
      homeDir: home,
    })
    const text = describeS3Options(o)
    assert.equal(
      text,
      'endpoint=http://127.0.0.1:9000 region=us-east-1 path-style=true access-key-id=AKIA**** secret-access-key=**** session-token=****',
    )
    for (const s of ['hunter2', 'SECRETID', 'tok-']) assert.ok(!text.includes(s), text)
    assert.equal(
      describeS3Options({}),
      'endpoint=AWS (https://s3.us-east-1.amazonaws.com) region=us-east-1 path-style=false credentials=AWS SDK default chain',
    )
    assert.deepEqual(s3OptionsWithoutSecrets(o), {endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, region: 'us-east-1'})
    const f = resolveS3Options({flags: {credentialsFile: file, profile: 'backups'}, env: {}, homeDir: home})
    assert.match(describeS3Options(f), new RegExp(`from=${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\[backups\\]$`))
    assert.deepEqual(s3OptionsWithoutSecrets(f), {forcePathStyle: false, credentialsFile: file, profile: 'backups', region: 'us-east-1'})
  })

  it('parses ini sections ([name] and [profile name]), comments, blank lines', () => {
    const s = parseCredentialsIni(INI)
    assert.deepEqual([...s.keys()], ['default', 'backups', 'half'])
    assert.equal(s.get('backups')?.aws_session_token, 'backups-token')
  })
})
