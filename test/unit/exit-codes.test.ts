/** The one exit-code table (lib/cli/exit-codes.ts, also in the README): the scheduler core's FATAL codes are its entries, each code means one thing. */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {EXIT_CODE_TABLE, ExitCode} from '../../src/lib/cli/exit-codes.js'
import {EXIT_FATAL, EXIT_FRAMEWORK_REMOVED} from '../../src/scheduler/core/actions.js'

describe('exit codes', () => {
  it("serve's fatal exits are the table's FAILED and FRAMEWORK_REMOVED", () => {
    assert.equal(EXIT_FATAL, ExitCode.FAILED)
    assert.equal(EXIT_FRAMEWORK_REMOVED, (ExitCode as Record<string, number>).FRAMEWORK_REMOVED)
  })
  it('each code has one entry, under the name ExitCode gives it', () => {
    const codes = EXIT_CODE_TABLE.map((e) => e.code)
    assert.equal(new Set(codes).size, codes.length, `a code listed twice: ${codes.join(',')}`)
    assert.deepEqual(Object.fromEntries(EXIT_CODE_TABLE.map((e) => [e.name, e.code])), {...ExitCode})
  })
  it("the README's table lists every entry", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('## ', readme.indexOf('## Exit codes') + 3))
    for (const e of EXIT_CODE_TABLE) assert.match(section, new RegExp(`\\| ${e.code} \\| ${e.name} \\|`), `README: ${e.code} ${e.name}`)
  })
})
