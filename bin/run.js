#!/usr/bin/env node
// etcd-mesos entry point. Go-style single-dash long flags (-cluster-size=3, -log_dir=x) are
// normalised to oclif's --long-flag form before oclif parses them.
import {execute} from '@oclif/core'
import {normaliseArgv} from '../dist/lib/cli/argv.js'

process.argv = [...process.argv.slice(0, 2), ...normaliseArgv(process.argv.slice(2))]
await execute({dir: import.meta.url})
