/**
 * `etcd-mesos events`: what the scheduler did and why (GET /events), oldest first; `--follow` keeps printing new
 * events until Ctrl-C. The body is lib/cli/events.ts.
 */
import {Flags} from '@oclif/core'
import {BaseCommand} from '../lib/cli/base-command.js'
import {runEvents} from '../lib/cli/events.js'
import type {EventsPage} from '../scheduler/core/event-types.js'

export default class Events extends BaseCommand<typeof Events> {
  static override summary = "Show the scheduler's event log: launches, task states, member changes, health, re-seeds, backups…"
  static override description =
    'With --follow, new events are printed as they come until Ctrl-C (with --json: one JSON event per line). Exit codes: 0 ok, 3 scheduler unreachable, 4 standby or no event log, 5 unknown cluster.'
  static override examples = [
    '<%= config.bin %> events --admin-url http://10.0.0.5:23400',
    '<%= config.bin %> events --cluster mycluster --zk zk://zk1:2181/etcd-mesos --follow',
    '<%= config.bin %> events --admin-url http://10.0.0.5:23400 --since 120 --json',
  ]

  static override flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new events until Ctrl-C.'}),
    since: Flags.integer({summary: 'Only the events after this seq (default: all kept; with --follow the last 20).', min: 0}),
    'poll-interval': Flags.integer({summary: 'Milliseconds between polls with --follow.', default: 1000, min: 50, hidden: true}),
  }

  async run(): Promise<EventsPage | undefined> {
    return runEvents(await this.adminClient(), this.io(), {
      ...(this.flags.since !== undefined ? {since: this.flags.since} : {}),
      follow: this.flags.follow,
      pollMs: this.flags['poll-interval'],
      ...(this.flags.cluster && !this.flags['admin-url'] ? {reopen: () => this.adminClient()} : {}),
    })
  }
}
