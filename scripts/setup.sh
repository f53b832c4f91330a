#!/usr/bin/env bash
# Idempotent setup for a fresh machine with Node 20 and npm: Debian's etcd, etcdctl and ZooKeeper
# (only when missing; apt-get update first), Chromium and promtool for the dashboard and alert-rule tests, npm ci (which brings the tests' S3-compatible server, s3rver,
# a devDependency), build.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || need+=(zookeeper)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v openssl >/dev/null 2>&1 || need+=(openssl) # test certificates (TLS and https S3 tests)
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-liberation) # the dashboard's browser tests (playwright-core drives it); the font is only a Recommends of chromium
command -v promtool >/dev/null 2>&1 || need+=(prometheus) # promtool: deploy/prometheus/alerts.yml checked and unit-tested
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} from Debian" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# etcd 3.5 (Debian 13's packages, unpacked into .cache/etcd-trixie; nothing installed) for the upgrade tests.
bash scripts/fetch-etcd.sh >/dev/null || echo "setup: warning: could not fetch etcd 3.5 (scripts/fetch-etcd.sh); the upgrade tests will try again" >&2

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
