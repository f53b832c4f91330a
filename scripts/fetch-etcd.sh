#!/usr/bin/env bash
# Fetches etcd 3.5 (Debian 13 "trixie"'s etcd-server + etcd-client) into a cache folder of the checkout,
# for the rolling-upgrade tests (3.4 → 3.5). Nothing is installed system-wide and the machine's own package
# state is not touched:
#   - a private sources list for the trixie suite, on the same mirror as the machine's own
#     /etc/apt/sources.list.d/debian.sources (fallback /etc/apt/sources.list; override: ETCD_TRIXIE_MIRROR);
#   - private Dir::State::Lists, Dir::State::status, Dir::Cache, Dir::Etc::SourceList/SourceParts and
#     preferences, all under the cache folder; `apt-get update` and `apt-get download` run on those only;
#   - `dpkg-deb -x` unpacks the .debs into <cache>/root (never dpkg -i).
# Idempotent: when <cache>/root/usr/bin/etcd and etcdctl are there and answer --version, nothing is fetched.
# Concurrent runs wait for each other (flock on <cache>/.lock).
#
# Usage: bash scripts/fetch-etcd.sh
#   env: ETCD_TRIXIE_CACHE (default <checkout>/.cache/etcd-trixie), ETCD_TRIXIE_MIRROR (default: the
#        machine's Debian mirror), ETCD_TRIXIE_SUITE (default trixie).
# Output (stdout, the last two lines): ETCD35_BIN=<path> and ETCDCTL35_BIN=<path>; progress on stderr.
# Exit: 0 ok; 1 mirror unreachable / download failed; 2 bad environment (no apt-get, no mirror found);
#       3 unpacked binaries that do not run (e.g. they need a newer libc than this machine has).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${ETCD_TRIXIE_CACHE:-$root/.cache/etcd-trixie}"
suite="${ETCD_TRIXIE_SUITE:-trixie}"
unpacked="$cache/root"
etcd_bin="$unpacked/usr/bin/etcd"
etcdctl_bin="$unpacked/usr/bin/etcdctl"

say() { echo "fetch-etcd: $*" >&2; }
die() {
  local code="$1"
  shift
  echo "fetch-etcd: error: $*" >&2
  exit "$code"
}

answers_version() { [ -x "$1" ] && "$1" "$2" >/dev/null 2>&1; }
done_already() { answers_version "$etcd_bin" --version && answers_version "$etcdctl_bin" version; }
report() {
  say "$("$etcd_bin" --version | head -1); $("$etcdctl_bin" version | head -1)"
  echo "ETCD35_BIN=$etcd_bin"
  echo "ETCDCTL35_BIN=$etcdctl_bin"
}

if done_already; then
  report
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die 2 "apt-get not found: this script needs a Debian-like machine"
command -v dpkg-deb >/dev/null 2>&1 || die 2 "dpkg-deb not found"
mkdir -p "$cache"
exec 9>"$cache/.lock"
if command -v flock >/dev/null 2>&1; then flock -w 900 9 || die 1 "another fetch-etcd run held $cache/.lock for 15 minutes"; fi
if done_already; then # another run finished while we waited
  report
  exit 0
fi

# The machine's Debian mirror: the first URI of a deb822 stanza (or a one-line `deb` entry) that is not the
# security archive.
mirror_of_machine() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [ -r "$f" ]; then
    awk 'BEGIN{RS=""; FS="\n"} {
        uri=""; types=""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uri = u[1] }
          if ($i ~ /^Types:/) types = $i
        }
        if (uri != "" && types ~ /(^|[ \t])deb([ \t]|$)/ && uri !~ /security/) { print uri; exit }
      }' "$f"
    return
  fi
  if [ -r /etc/apt/sources.list ]; then
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { if ($i !~ /security/) { print $i; exit } else break } }' /etc/apt/sources.list
  fi
}
mirror="${ETCD_TRIXIE_MIRROR:-$(mirror_of_machine)}"
[ -n "$mirror" ] || die 2 "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list (set ETCD_TRIXIE_MIRROR)"

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
signed_by=""
[ -r "$keyring" ] && signed_by="Signed-By: $keyring"
arch="$(dpkg --print-architecture)"

state="$cache/apt"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/etc/sources.list.d" "$state/etc/preferences.d" "$state/debs"
: >"$state/status"
printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n%s\n' "$mirror" "$suite" "$signed_by" >"$state/etc/sources.list.d/trixie.sources"
: >"$state/etc/sources.list"
apt_opts=(
  -o "Dir::State::Lists=$state/lists"
  -o "Dir::State::status=$state/status"
  -o "Dir::Cache=$state/cache"
  -o "Dir::Cache::archives=$state/cache/archives"
  -o "Dir::Etc::SourceList=$state/etc/sources.list"
  -o "Dir::Etc::SourceParts=$state/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$state/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$state/etc/preferences.d"
  -o "APT::Architecture=$arch"
  -o "APT::Architectures::=$arch"
  -o "Acquire::Languages=none"
  -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
  -o "Acquire::http::Timeout=30"
  -o "Acquire::https::Timeout=30"
  -o "Acquire::Retries=2"
  -o "Debug::NoLocking=true"
)
# Downloads run as root without apt's _apt sandbox user (who could not write into the checkout).
[ "$(id -u)" = 0 ] && apt_opts+=(-o "APT::Sandbox::User=root")

say "apt-get update ($mirror $suite main, private state in $state)"
if ! apt-get "${apt_opts[@]}" update -q >"$state/update.log" 2>&1 || grep -Eq '^(E:|W: Failed to fetch|Err:)' "$state/update.log"; then
  sed 's/^/  /' "$state/update.log" >&2
  die 1 "could not read the $suite index from $mirror (mirror unreachable or suite missing); see above"
fi

rm -f "$state/debs"/*.deb
say "apt-get download etcd-server etcd-client ($suite)"
if ! (cd "$state/debs" && apt-get "${apt_opts[@]}" download -q etcd-server etcd-client) >"$state/download.log" 2>&1; then
  sed 's/^/  /' "$state/download.log" >&2
  die 1 "could not download etcd-server/etcd-client from $mirror $suite; see above"
fi

tmp="$(mktemp -d "$cache/unpack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
for deb in "$state/debs"/*.deb; do
  say "dpkg-deb -x $(basename "$deb")"
  dpkg-deb -x "$deb" "$tmp" || die 1 "could not unpack $deb (does this dpkg-deb read its compression?)"
done
rm -rf "$unpacked"
mv "$tmp" "$unpacked"
trap - EXIT

for b in "$etcd_bin" "$etcdctl_bin"; do
  [ -x "$b" ] || die 3 "$b is missing from the unpacked packages"
done
if ! done_already; then
  out="$("$etcd_bin" --version 2>&1 || true)"
  echo "$out" | sed 's/^/  /' >&2
  if echo "$out" | grep -q 'GLIBC_'; then
    die 3 "the $suite binaries need a newer glibc than this machine's ($(ldd --version 2>/dev/null | head -1))"
  fi
  die 3 "the unpacked etcd does not run"
fi
rm -rf "$state/debs" "$state/lists" # ~35 MB never read again (the next run stops at done_already)
report
