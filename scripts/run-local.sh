#!/usr/bin/env bash
# The main job: set up, then run a local 3-member etcd cluster under `serve --master local`
# (an embedded Mesos master with 3 agents on 127.0.0.2-4, state in .etcd-mesos-state/).
# Stop it with Ctrl-C: the scheduler and the local Mesos stop, and so do the etcd members.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/run.js serve --master local --cluster-name local --cluster-size 3 \
  --admin-address 127.0.0.1 --admin-port "${ADMIN_PORT:-23400}" \
  --state-file .etcd-mesos-state/local.json "$@"
