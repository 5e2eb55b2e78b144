#!/usr/bin/env bash
# The README's GNU parallel recipe, run as written (4 shards as 4 jobs on this machine,
# sharing one cache file): the concatenated NDJSON is the whole library, each file once,
# the shared cache takes all four writers, and a second run is answered from it.
. "$(dirname "$0")/lib.sh" "$1"
need sox flac jq parallel
T=$WORK/Music
mkdir -p "$T/a" "$T/b"
sox -R -r 44100 -n -b 16 -c 2 "$WORK/g.wav" synth 1 pinknoise vol 0.3 2>/dev/null
flac -s -f -o "$WORK/g.flac" "$WORK/g.wav"
for i in $(seq 1 60); do cp "$WORK/g.flac" "$T/$([ $((i % 2)) = 0 ] && echo a || echo b)/$i.flac"; done
export PATH="$(dirname "$BIN"):$PATH"   # the recipe calls `fakeless`
export XDG_CACHE_HOME=$WORK/cache
cd "$WORK"

# --- the recipe (README.md, "Many machines") ---
parallel --will-cite -j 4 fakeless scan --cache --shard {}/4 -q "$T" ::: 1 2 3 4 > verdicts.ndjson
code=$?
# ---

check "parallel ran all four shards (exit $code: nothing flagged)" [ "$code" = 0 ]
whole_records() { jq -e -s 'length == 60' verdicts.ndjson > /dev/null; }
check "every line is a whole JSON record, 60 of them" whole_records
check "every file exactly once" [ "$(jq -r .path verdicts.ndjson | sort -u | wc -l)" = 60 ]
"$(basename "$BIN")" cache stats > stats.json 2>/dev/null
check "the shared cache holds all 60 (four concurrent writers)" [ "$(jq .entries stats.json)" = 60 ]
parallel --will-cite -j 4 fakeless scan --cache --shard {}/4 "$T" ::: 1 2 3 4 > again.ndjson 2> again.err
check "a second run is answered from the cache" \
  [ "$(grep -o '([0-9]* decoded' again.err | tr -dc '0-9\n' | paste -sd+ | bc)" = 0 ]
check "with the same results" \
  [ "$(jq -S -c '{path,verdict,p_lossy,evidence}' verdicts.ndjson | sort | md5sum)" = \
    "$(jq -S -c '{path,verdict,p_lossy,evidence}' again.ndjson | sort | md5sum)" ]
finish
