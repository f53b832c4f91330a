import assert from 'node:assert/strict'
import {EtcdError} from '../../src/lib/etcd/errors.js'

/** Awaits `p`, which must reject with an EtcdError whose code is one of `codes`; returns that error. */
export async function rejectsWithCode(p: Promise<unknown>, codes: string[]): Promise<EtcdError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof EtcdError, `expected EtcdError, got ${String(err)}`)
    assert.ok(codes.includes(err.code), `expected code in ${codes.join('|')}, got ${err.code}: ${err.message}`)
    return err
  }
  assert.fail(`expected a rejection with ${codes.join('|')}`)
}
