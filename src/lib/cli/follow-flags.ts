/**
 * The flags of a command that starts an operation on the scheduler and follows it (backup, restore, reseed):
 * --wait / --no-wait, --wait-timeout, --follow <op> and the hidden --poll-interval.
 */
import {Flags} from '@oclif/core'

export function followFlags(what: string, defaults: {waitTimeoutSeconds: number; pollMs: number}) {
  return {
    wait: Flags.boolean({summary: `Follow the ${what} until it ends; --no-wait returns at once (exit 4).`, default: true, allowNo: true}),
    'wait-timeout': Flags.integer({
      summary: 'Seconds to follow before giving up with exit 4.',
      default: defaults.waitTimeoutSeconds,
      min: 1,
    }),
    follow: Flags.string({summary: `Follow an already started ${what} operation instead of starting one.`}),
    'poll-interval': Flags.integer({summary: 'Milliseconds between progress polls.', default: defaults.pollMs, min: 50, hidden: true}),
  }
}
