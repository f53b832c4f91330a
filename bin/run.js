#!/usr/bin/env node
// etcd-mesos entry point. Go-style single-dash long flags (-cluster-size=3, -log_dir=x) are
// normalised to oclif's --long-flag form before oclif parses them. `stats`, `members` and
// `failover-status` invocations the fast path understands completely run without loading oclif
// (src/lib/cli/fast-path.ts); everything else, and everything when ETCD_MESOS_NO_FAST_PATH is set, goes to oclif.
import {normaliseArgv} from '../dist/lib/cli/argv.js'
import {runFast} from '../dist/lib/cli/fast-path.js'

const argv = normaliseArgv(process.argv.slice(2))
process.argv = [...process.argv.slice(0, 2), ...argv]
if (!(await runFast(argv))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
