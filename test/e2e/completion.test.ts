// Shell completion (oclif's autocomplete plugin): `etcd-mesos autocomplete bash` prints the set-up instructions,
// `autocomplete script bash` the line for ~/.bashrc, and the completion function it installs, run in a real bash,
// completes commands, topics' subcommands and flags. The cache goes to a temp XDG_CACHE_HOME (removed afterwards).
// Needs a current dist/ and oclif.manifest.json.
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const RUN = path.resolve(import.meta.dirname, '../../bin/run.js')

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

describe('shell completion (bash)', {skip: spawnSync('bash', ['--version']).error ? 'bash is not installed' : false}, () => {
  let home: string
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_MESOS_')) e[k] = v
    return {...e, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache'), XDG_DATA_HOME: path.join(home, 'data'), NO_COLOR: '1'}
  }
  const run = (cmd: string, args: string[], input = ''): Promise<Result> =>
    new Promise((resolve, reject) => {
      const child = spawn(cmd, args, {env: env(), stdio: ['pipe', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      child.stdin.end(input)
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`${cmd} ${args.join(' ')} did not finish within 60 s\nstdout: ${stdout}\nstderr: ${stderr}`))
      }, 60_000)
      child.once('error', reject)
      child.once('close', (code) => {
        clearTimeout(timer)
        resolve({code, stdout, stderr})
      })
    })
  const cli = (...args: string[]) => run(process.execPath, [RUN, ...args])

  /** What bash's completion offers for the words typed so far (the last one being completed). */
  let setupLine = ''
  const complete = async (...words: string[]): Promise<string[]> => {
    const script = [
      setupLine,
      `COMP_WORDS=(${['etcd-mesos', ...words].map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length}`,
      '_etcd-mesos_autocomplete',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's expansion, not a template
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n')
    const r = await run('bash', ['--norc', '--noprofile', '-c', script])
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.split('\n').filter((l) => l !== '')
  }

  before(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'completion-'))
  })
  after(() => rmSync(home, {recursive: true, force: true}))

  it('autocomplete bash builds the cache and prints the set-up instructions', async () => {
    const r = await cli('autocomplete', 'bash')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /etcd-mesos autocomplete script bash/)
  })

  it('autocomplete script bash prints the line that sources the completion set-up', async () => {
    const r = await cli('autocomplete', 'script', 'bash')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /ETCD_MESOS_AC_BASH_SETUP_PATH=.*bash_setup/)
    setupLine = r.stdout.trim()
  })

  it('completes commands, a topic’s subcommands and a command’s flags', async () => {
    assert.ok(setupLine, 'the set-up line (previous test)')
    assert.deepEqual(await complete('ser'), ['serve'])
    const top = await complete('')
    for (const c of ['serve', 'stats', 'members', 'reseed', 'backup', 'restore', 'rollout', 'failover-status'])
      assert.ok(top.includes(c), `${c} not offered: ${top.join(' ')}`)
    assert.deepEqual((await complete('rollout', 'st')).sort(), ['start', 'status'])
    assert.deepEqual(await complete('serve', '--admin-p'), ['--admin-port'])
    assert.ok((await complete('stats', '--')).includes('--json'))
  })
})
