#!/usr/bin/env node
// Lean entry point of the etcd-mesos executor (what `serve` gives the Mesos agents by default): the same
// process as `etcd-mesos executor` without loading oclif and its command tree first (src/executor/main.ts).
// Takes only --reseed-backups-keep N.
import {executorMain} from '../dist/executor/main.js'

process.exitCode = await executorMain(process.argv.slice(2))
