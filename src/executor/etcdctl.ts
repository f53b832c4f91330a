/**
 * etcdctl as a child process, for a restore (restore.ts, restore-replay.ts): `snapshot restore` of etcd 3.4's
 * etcdctl (API v3). Its output is kept (the last 4 KB) for the error; `signal` SIGKILLs it.
 */
import {spawn} from 'node:child_process'

/** Throws when `signal` was aborted (the task is being killed). */
export function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error('aborted: the task is being killed')
}

/** Runs etcdctl (API v3) to the end; rejects naming its exit and its last output lines. */
export async function runEtcdctl(bin: string, args: string[], signal?: AbortSignal): Promise<void> {
  aborted(signal)
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, args, {env: {...process.env, ETCDCTL_API: '3'}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    const keep = (b: Buffer) => {
      out = (out + b.toString('utf8')).slice(-4000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const onAbort = () => child.kill('SIGKILL')
    signal?.addEventListener('abort', onAbort, {once: true})
    child.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort)
      reject(new Error(`etcdctl ${bin} could not be started: ${err.message}`))
    })
    child.once('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort)
      if (code === 0) return resolve()
      const tail = out.trim().split('\n').slice(-8).join('\n')
      reject(
        new Error(
          `etcdctl ${args.slice(0, 2).join(' ')} failed (${sig ? `killed by ${sig}` : `exit code ${code}`})${tail ? `:\n${tail}` : ''}`,
        ),
      )
    })
  })
}
