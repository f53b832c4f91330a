#!/usr/bin/env bash
# Runs the test suites with node's test runner (TypeScript through tsx).
#   scripts/test.sh            all suites: unit, integration, e2e
#   scripts/test.sh unit       one suite
# Exit code 1 when any test failed (both runs run).
# The build must be current (the e2e tests and mesos-local agents run bin/run.js).
set -euo pipefail
cd "$(dirname "$0")/.."
suites=("${@:-unit integration e2e}")
files=()
for s in ${suites[@]}; do
  for f in test/$s/*.test.ts; do [ -e "$f" ] && files+=("$f"); done
done
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# tsx does not type-check: do it once for src, test and bench together.
echo "type-checking src, test and bench…" >&2
npx --no-install tsc -p tsconfig.test.json --noEmit
# The unit tests (pure or on loopback port 0, no shared processes) run two files at a time; the integration and
# end-to-end tests (real etcd, ZooKeeper, local Mesos; process sweeps by cluster name) one file at a time.
unit=(); rest=()
for f in "${files[@]}"; do case "$f" in test/unit/*) unit+=("$f") ;; *) rest+=("$f") ;; esac; done
rc=0
if [ ${#unit[@]} -gt 0 ]; then node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${unit[@]}" || rc=1; fi
if [ ${#rest[@]} -gt 0 ]; then node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${rest[@]}" || rc=1; fi
exit $rc
