# Shared by the integration tests: a temp dir, a check counter, and tool checks.
# Usage: . lib.sh FAKELESS_BIN
set -u
BIN=$(readlink -f "$1")
[ -x "$BIN" ] || { echo "no fakeless binary at $1"; exit 1; }
WORK=$(mktemp -d /tmp/fakeless-it.XXXXXX)
trap 'chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
pass=0
fail=0
need() { for t in "$@"; do command -v "$t" >/dev/null || { echo "missing tool $t: run scripts/setup"; exit 1; }; done; }
check() {  # check "description" command...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   - $what"; else fail=$((fail + 1)); echo "FAIL - $what"; fi
}
# field FILE NAME JQ: the jq expression on the record whose path ends in /NAME
field() { jq -r --arg n "$2" "select(.path == \$n or (.path | endswith(\"/\" + \$n))) | $3" "$1"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; }
