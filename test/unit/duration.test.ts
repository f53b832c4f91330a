import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {DurationParseError, formatDuration, parseDuration} from '../../src/lib/mesos/duration.js'

describe('parseDuration (stout Duration strings)', () => {
  const ok: [string, number][] = [
    ['5secs', 5000],
    ['15mins', 900_000],
    ['250ms', 250],
    ['1.5secs', 1500],
    ['2weeks', 1_209_600_000],
    ['2secs', 2000],
    ['1hrs', 3_600_000],
    ['3days', 259_200_000],
    ['0ns', 0],
    ['1500us', 1.5],
    ['2000000ns', 2],
    ['.5secs', 500],
    ['10.secs', 10_000],
    ['1.1secs', 1100],
    [' 5secs\n', 5000],
  ]
  for (const [input, ms] of ok) {
    it(`${JSON.stringify(input)} -> ${ms} ms`, () => assert.equal(parseDuration(input), ms))
  }

  const bad: [string, RegExp][] = [
    ['', /expected <number><unit>/],
    ['5', /expected <number><unit>/],
    ['secs', /missing number/],
    ['5 secs', /expected <number><unit>/],
    ['5sec', /unknown unit 'sec'/],
    ['5s', /unknown unit 's'/],
    ['5SECS', /expected <number><unit>/],
    ['-5secs', /expected <number><unit>/],
    ['1.2.3secs', /expected <number><unit>/],
    ['.secs', /missing number/],
    ['5secs5', /expected <number><unit>/],
  ]
  for (const [input, re] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseDuration(input),
        (err: unknown) => {
          assert.ok(err instanceof DurationParseError)
          assert.match(err.message, re)
          assert.equal(err.input, input)
          return true
        },
      )
    })
  }
})

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [5000, '5secs'],
    [900_000, '15mins'],
    [1500, '1500ms'],
    [1_209_600_000, '2weeks'],
    [86_400_000, '1days'],
    [0, '0ns'],
    [0.001, '1us'],
    [0.0005, '500ns'],
  ]
  for (const [ms, text] of cases) {
    it(`${ms} ms -> ${text}, and back`, () => {
      assert.equal(formatDuration(ms), text)
      assert.equal(parseDuration(text), ms)
    })
  }
  it('rejects negative and non-finite values', () => {
    assert.throws(() => formatDuration(-1), RangeError)
    assert.throws(() => formatDuration(Number.NaN), RangeError)
  })
})
