import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {freePort, freePorts, randomPortRange} from '../helpers/ports.js'

/** The kernel's ephemeral range, where outgoing connections take their source ports. */
const [ephLo, ephHi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)

describe('test ports (helpers/ports.ts)', () => {
  it('freePort hands out ports outside the ephemeral range, never the same one twice', async () => {
    const ports = await freePorts(50)
    assert.equal(new Set(ports).size, 50)
    for (const p of ports) assert.ok(p < ephLo || p > ephHi, `port ${p} is in the ephemeral range ${ephLo}-${ephHi}`)
    const more = await freePort()
    assert.ok(!ports.includes(more))
  })

  it('randomPortRange gives 200 ports outside the ephemeral range and away from the single ports', () => {
    for (let i = 0; i < 200; i++) {
      const [lo, hi] = randomPortRange()
      assert.equal(hi - lo, 199)
      assert.ok(hi < ephLo || lo > ephHi, `range ${lo}-${hi} overlaps the ephemeral range ${ephLo}-${ephHi}`)
      assert.ok(lo >= 20_000, `range ${lo}-${hi} overlaps the single ports`)
    }
  })
})
