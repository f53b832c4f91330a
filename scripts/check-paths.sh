#!/usr/bin/env bash
# CI check: a clone in any folder on any machine must run the tests and find every document it is
# pointed to. Fails when src/, test/, docs/, bench/, scripts/ or README.md refer to a place outside the
# checkout:
#   - an absolute path under a root that is not a system directory (/work/..., /home/..., /root/...,
#     /mnt/..., the checkout's own absolute path, ...). System paths (/usr, /etc, /dev, /proc, /sys, /tmp,
#     /bin, /sbin, /var, /opt, /run, /lib*, /boot) are fine: they are the machine's, not a checkout's.
#     URL paths (/stats, /api/v1/scheduler, /etcd-mesos/<cluster>) are not file paths and do not match.
#   - a relative path (../x) that climbs out of the checkout from the file it is written in.
# A line that must keep such a path (e.g. a test feeding a traversal to a sandbox check) carries the
# marker `check-paths: allow`.
# Usage: bash scripts/check-paths.sh   (exit 0 clean, 1 with the offending lines on stderr)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
self="scripts/check-paths.sh"
targets=(src test docs bench scripts README.md)

# Roots where checkouts, homes and shares live on common machines, plus the first component of this
# checkout's own path (a checkout in /srv/ci/x makes /srv suspicious too).
own_top="$(printf '%s' "$root" | cut -d/ -f2)"
tops="home|Users|root|mnt|media|srv|work|workspace|workspaces|shared|private|Volumes|scratch|builds|github|runner|Library"
case "$own_top" in
  usr|etc|dev|proc|sys|tmp|bin|sbin|var|opt|run|lib|lib32|lib64|libx32|boot|'') ;;
  *) tops="$tops|$own_top" ;;
esac
# Values that look like such paths but name a place inside a container, not on this machine.
known_ok='/mnt/mesos/sandbox'

fail=0
report() {
  echo "check-paths: $1" >&2
  fail=1
}

files() {
  # Tracked and untracked (not ignored) files, so the check also sees work not committed yet; outside a git
  # checkout (an unpacked tarball), every file under the targets.
  { if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then git ls-files -co --exclude-standard -- "${targets[@]}"
    else find "${targets[@]}" -type f -not -path '*/node_modules/*' 2>/dev/null; fi; } | while IFS= read -r f; do
    [ -f "$f" ] && [ "$f" != "$self" ] && printf '%s\n' "$f"
  done
}

# 1. Absolute paths outside the checkout (also file:// URLs). A path is one when preceded by start of
#    line, whitespace, a quote, a backtick, '(', '=', ',', ':' or '[' (not by a host name or a URL path).
abs_re="(^|[[:space:]'\"\`(=,:[])/($tops)(/|[[:space:]'\"\`),;:]|$)|file:///($tops)(/|$)|$root"
while IFS= read -r hit; do
  [ -z "$hit" ] && continue
  line="${hit#*:*:}"
  case "$line" in *'check-paths: allow'*) continue ;; esac
  stripped="${line//$known_ok/}"
  if printf '%s\n' "$stripped" | grep -Eq "$abs_re"; then
    report "absolute path outside the checkout: $hit"
  fi
done < <(files | tr '\n' '\0' | xargs -0 -r grep -nE -I -- "$abs_re" 2>/dev/null || true)

# 2. Relative paths that climb out of the checkout from the file that holds them.
while IFS= read -r hit; do
  [ -z "$hit" ] && continue
  file="${hit%%:*}"
  rest="${hit#*:}"
  lineno="${rest%%:*}"
  line="$(sed -n "${lineno}p" "$file")"
  case "$line" in *'check-paths: allow'*) continue ;; esac
  rel="${rest#*:}"
  target="$(realpath -m "$(dirname "$file")/$rel")"
  case "$target/" in
    "$root"/*) ;;
    *) report "relative path leaving the checkout ($rel → $target): $file:$lineno: $line" ;;
  esac
done < <(files | tr '\n' '\0' | xargs -0 -r grep -noE -I -- '(\.\./)+[A-Za-z0-9_.-]+' 2>/dev/null || true)

if [ "$fail" -ne 0 ]; then
  echo "check-paths: keep everything a clone needs inside the repository (refer to it relative to the file, e.g. new URL('../fixtures/x', import.meta.url))" >&2
  exit 1
fi
echo "check-paths: no path outside the checkout in ${targets[*]}"
