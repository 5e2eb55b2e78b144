#!/usr/bin/env bash
# The man page renders without warnings and documents every scan option the binary has;
# the bash completion parses, defines `complete -p fakeless` and offers those options.
. "$(dirname "$0")/lib.sh" "$1"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$ROOT/man/fakeless.1
COMP=$ROOT/completions/fakeless.bash
need groff
warnings=$(groff -man -ww -z "$MAN" 2>&1)
check "man page renders without warnings${warnings:+: $warnings}" [ -z "$warnings" ]
sections() { for s in NAME SYNOPSIS DESCRIPTION 'EXIT STATUS' EXAMPLES; do grep -q "^\.SH $s" "$MAN" || return 1; done; }
check "man page has the sections a man page has" sections
check "man page renders as text" bash -c "groff -man -Tutf8 -P-cbou '$MAN' 2>/dev/null | grep -q 'EXIT STATUS'"
opts=$("$BIN" scan --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
missing_man=""; missing_comp=""
for o in $opts; do
  grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$MAN" || missing_man="$missing_man $o"
  grep -q -- "$o\b" "$COMP" || missing_comp="$missing_comp $o"
done
check "every scan option of the binary is in the man page${missing_man:+ (missing:$missing_man)}" [ -z "$missing_man" ]
check "every scan option is offered by the completion${missing_comp:+ (missing:$missing_comp)}" [ -z "$missing_comp" ]
check "completion script parses (bash -n)" bash -n "$COMP"
check "sourcing it defines the completion" bash -c "source '$COMP' && complete -p fakeless | grep -q _fakeless"
complete_words() {  # complete_words WORD...: what the completion offers for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
           _fakeless fakeless "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$COMP" "$@"
}
offers() { local want=$1; shift; complete_words "$@" | grep -qx -- "$want"; }
check "it completes scan options" offers --shard fakeless scan --sh
check "it completes options of a bare path scan" offers --quick fakeless ~/Music --qu
check "it completes --progress values" offers always fakeless scan --progress al
check "it completes cache actions" offers prune fakeless cache pr
finish
