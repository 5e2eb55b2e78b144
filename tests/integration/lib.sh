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
# make_genuine_clip: genuine.wav and genuine.flac in the current directory, 12 s of
# something music-like with content up to Nyquist: plucked chords over quiet pink noise.
make_genuine_clip() {
  sox -R -r 44100 -n -b 16 -c 2 tone.wav synth 12 pluck C3 pluck E3 pluck G3 pluck C5 vol 0.4 2>/dev/null
  sox -R -r 44100 -n -b 16 -c 2 hiss.wav synth 12 pinknoise tremolo 3 60 vol 0.08 2>/dev/null
  sox -R -m tone.wav hiss.wav -b 16 genuine.wav
  flac -s -f -o genuine.flac genuine.wav
}
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; }
