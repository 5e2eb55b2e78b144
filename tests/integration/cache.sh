#!/usr/bin/env bash
# The result cache with the real binary and a real SQLite file: a re-scan decodes nothing
# and gives the same results; a changed file is analysed again; content errors are cached;
# kill -9 in the middle of a run loses no result that reached stdout and the next run
# resumes; prune, stats and export; a file that is not a cache is refused, untouched.
. "$(dirname "$0")/lib.sh" "$1"
need sox flac jq sqlite3
T=$WORK/lib
DB=$WORK/cache/results.sqlite
mkdir -p "$T/a" "$T/b"
sox -R -r 44100 -n -b 16 -c 2 "$WORK/g.wav" synth 1 pinknoise vol 0.3 2>/dev/null
flac -s -f -o "$WORK/g.flac" "$WORK/g.wav"
for i in $(seq 1 300); do d=$T/a; [ $((i % 2)) = 0 ] && d=$T/b; cp "$WORK/g.flac" "$d/track $i.flac"; done
echo "not audio" > "$T/b/text.flac"
decoded() { sed -n 's/.*(\([0-9]*\) decoded, \([0-9]*\) from cache).*/\1/p' "$1"; }
from_cache() { sed -n 's/.*(\([0-9]*\) decoded, \([0-9]*\) from cache).*/\2/p' "$1"; }
key() { jq -S -c '{path,status,verdict,p_lossy,evidence,error}' "$1" | sort; }

# --- kill -9 mid-run, then resume -----------------------------------------------------
# stdout goes into a FIFO that we stop reading after 20 records: once the pipe is full the
# scan is blocked writing a record, in the middle of the run, and is killed there.
mkfifo "$WORK/pipe"
"$BIN" scan -j1 --cache "$DB" "$T" > "$WORK/pipe" 2> "$WORK/kill.err" &
pid=$!
exec 3< "$WORK/pipe"
head -n 20 <&3 > "$WORK/printed.ndjson"
sleep 0.5
kill -9 "$pid"; wait "$pid" 2>/dev/null
exec 3<&-
stored=$(sqlite3 "$DB" 'SELECT count(*) FROM results')
echo "killed after $(wc -l < "$WORK/printed.ndjson") records read, $stored in the cache"
check "the run was killed in the middle ($stored of 301 stored)" [ "$stored" -ge 20 -a "$stored" -lt 301 ]
check "the cache survived kill -9 intact" [ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ]
"$BIN" cache export --cache "$DB" 2>/dev/null | jq -r .path | sort > "$WORK/exported.txt"
jq -r .path "$WORK/printed.ndjson" | sort > "$WORK/printed.txt"
check "every record that reached stdout is in the cache" \
  [ "$(comm -23 "$WORK/printed.txt" "$WORK/exported.txt" | wc -l)" = 0 ]
"$BIN" scan -j2 --cache "$DB" "$T" > "$WORK/resume.ndjson" 2> "$WORK/resume.err"
cat "$WORK/resume.err"
check "the resumed run decodes only what was not stored ($(decoded "$WORK/resume.err") + $stored)" \
  [ "$(decoded "$WORK/resume.err")" = $((301 - stored)) ]
check "the resumed run writes every file once" [ "$(jq -r .path "$WORK/resume.ndjson" | sort -u | wc -l)" = 301 ]
check "the union of both runs is the whole tree" \
  [ "$(cat "$WORK/printed.txt" <(jq -r .path "$WORK/resume.ndjson") | sort -u | wc -l)" = 301 ]

# A kill at a moment nobody chose (while workers decode and commit), twice over.
for delay in 0.05 0.2; do
  rm -f "$DB" "$DB"-*
  "$BIN" scan -j2 --cache "$DB" "$T" > "$WORK/free.ndjson" 2>/dev/null &
  pid=$!
  sleep "$delay"; kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  jq -R -r 'fromjson? | .path' "$WORK/free.ndjson" | sort > "$WORK/free.txt"
  "$BIN" cache export --cache "$DB" 2>/dev/null | jq -r .path | sort > "$WORK/exported.txt"
  check "kill -9 after ${delay}s: every record written is cached" \
    [ "$(comm -23 "$WORK/free.txt" "$WORK/exported.txt" | wc -l)" = 0 ]
  "$BIN" scan -j2 --cache "$DB" "$T" > "$WORK/resume.ndjson" 2> "$WORK/resume.err"
  check "kill -9 after ${delay}s: the next run completes" [ "$(jq -r .path "$WORK/resume.ndjson" | sort -u | wc -l)" = 301 ]
done

# --- hits without decoding, identical results -----------------------------------------
rm -f "$DB" "$DB"-*
"$BIN" scan --cache "$DB" "$T" > "$WORK/first.ndjson" 2> "$WORK/first.err"
"$BIN" scan --cache "$DB" "$T" > "$WORK/second.ndjson" 2> "$WORK/second.err"
cat "$WORK/second.err"
check "first run decodes everything" [ "$(decoded "$WORK/first.err")" = 301 ]
check "unchanged re-scan decodes nothing (the not-audio file included)" [ "$(decoded "$WORK/second.err")" = 0 ]
check "cached records equal fresh ones" [ "$(key "$WORK/first.ndjson" | md5sum)" = "$(key "$WORK/second.ndjson" | md5sum)" ]
check "cached records say so" [ "$(jq -r 'select(.cached) | .path' "$WORK/second.ndjson" | wc -l)" = 301 ]
check "exit status is the same from the cache (4: the not-audio file)" \
  bash -c "'$BIN' scan --cache '$DB' '$T' >/dev/null 2>&1; [ \$? = 4 ]"
touch -d '2001-01-01' "$T/a/track 1.flac"
cp "$WORK/g.wav" "$T/b/track 2.flac"   # same name, new content (a WAV, named .flac)
snapshot() { find "$T" -printf '%p %s %T@ %m\n' | sort | md5sum; }
before=$(snapshot)
"$BIN" scan --cache "$DB" "$T" > /dev/null 2> "$WORK/third.err"
check "two changed files are analysed again, only they" [ "$(decoded "$WORK/third.err")" = 2 ]
check "quick mode has its own entries" \
  bash -c "'$BIN' scan --quick --cache '$DB' '$T/a' 2>&1 >/dev/null | grep -q '(150 decoded, 0 from cache)'"
check "so does another threshold" \
  bash -c "'$BIN' scan --threshold 0.9 --cache '$DB' '$T/a' 2>&1 >/dev/null | grep -q '(150 decoded, 0 from cache)'"
check "a relative path finds the entry of the absolute one" \
  bash -c "cd '$T' && '$BIN' scan --cache '$DB' a 2>&1 >/dev/null | grep -q '(0 decoded, 150 from cache)'"
check "nothing was written under the scanned tree" [ "$before" = "$(snapshot)" ]

# --- stats, prune, export --------------------------------------------------------------
"$BIN" cache stats --cache "$DB" > "$WORK/stats.json"
cat "$WORK/stats.json"
check "stats counts every entry" [ "$(jq .entries "$WORK/stats.json")" = $((301 + 150 + 150)) ]
check "stats counts the cached error" [ "$(jq .errors "$WORK/stats.json")" = 1 ]
rm "$T/a/track 3.flac" "$T/a/track 5.flac"
touch -d '2002-02-02' "$T/b/track 4.flac"
"$BIN" cache prune --cache "$DB" > "$WORK/prune.json"
cat "$WORK/prune.json"
check "prune removes entries of deleted files (2 paths, 3 settings)" [ "$(jq .removed_gone "$WORK/prune.json")" = 6 ]
check "prune removes entries of changed files" [ "$(jq .removed_changed "$WORK/prune.json")" = 1 ]
check "export writes what is left, one JSON line each" \
  [ "$("$BIN" cache export --cache "$DB" -q | jq -c . | wc -l)" = "$(jq .kept "$WORK/prune.json")" ]

# --- refusals --------------------------------------------------------------------------
cp "$WORK/g.flac" "$WORK/not-a-cache.db"
sum=$(md5sum < "$WORK/not-a-cache.db")
"$BIN" scan --cache "$WORK/not-a-cache.db" "$T/a" > "$WORK/refused.out" 2> "$WORK/refused.err"
code=$?
check "a file that is not a cache is refused with status 2 ($code)" [ "$code" = 2 ]
check "... and left untouched" [ "$(md5sum < "$WORK/not-a-cache.db")" = "$sum" ]
check "... with a message" grep -q "not a fakeless cache" "$WORK/refused.err"
check "the default cache lives in XDG_CACHE_HOME" \
  bash -c "XDG_CACHE_HOME='$WORK/xdg' '$BIN' scan '$T/a/track 7.flac' --cache -q >/dev/null && [ -f '$WORK/xdg/fakeless/cache.sqlite' ]"
finish
