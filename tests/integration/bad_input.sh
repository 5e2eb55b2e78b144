#!/usr/bin/env bash
# Bad input: empty, truncated, not audio, unreadable directory, dangling symlink, FIFO,
# non-UTF-8 and newline names. Each gets one record (or a logged skip), the scan completes,
# the exit status carries +4, and nothing under the scanned tree changes.
. "$(dirname "$0")/lib.sh" "$1"
need sox flac jq
T=$WORK/tree
mkdir -p "$T/locked" "$T/sub"
sox -R -r 44100 -n -b 16 "$WORK/g.wav" synth 3 pinknoise vol 0.3 2>/dev/null
flac -s -f -o "$T/good.flac" "$WORK/g.wav"
cp "$T/good.flac" "$T/locked/hidden.flac"
: > "$T/empty.flac"
head -c 9000 "$T/good.flac" > "$T/truncated.flac"
echo "not audio at all" > "$T/text.flac"
echo "ignored" > "$T/notes.txt"
ln -s /nonexistent/target.flac "$T/dangling.flac"
mkfifo "$T/fifo.flac"
cp "$T/good.flac" "$T/sub/$(printf 'bad\xffname.flac')"
cp "$T/good.flac" "$T/sub/line
break.flac"
ln -s "$T" "$T/sub/loop"
chmod 000 "$T/locked"
# Make the tree readable to `nobody`, except the locked directory.
chmod 755 "$WORK" "$T" "$T/sub"; chmod 644 "$T"/*.flac "$T/sub"/*.flac "$T/notes.txt" 2>/dev/null
snapshot() { find "$T" -printf '%p %s %T@ %m\n' 2>/dev/null | sort | md5sum; }
before=$(snapshot)

run=("$BIN")
if [ "$(id -u)" = 0 ]; then
  # root reads everything; run as nobody so the permission check means something.
  # The build tree may sit where nobody cannot reach (/root): run a copy from $WORK.
  cp "$BIN" "$WORK/fakeless"; chmod 755 "$WORK/fakeless"
  run=(setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/fakeless")
fi
timeout 60 "${run[@]}" scan --ordered --format ndjson "$T" > "$WORK/out.ndjson" 2> "$WORK/err.log"
code=$?
cat "$WORK/out.ndjson" | jq -c '{path, status, verdict, code: .error.code}'
code_of() { jq -r --arg p "$T/$1" 'select(.path == $p) | .error.code // .verdict' "$WORK/out.ndjson"; }
check "scan completed, no crash or timeout ($code)" [ "$code" -lt 8 ]
check "exit status carries +4" [ $((code & 4)) = 4 ]
schema_ok() { jq -e -s 'all(.[]; .schema == 1)' "$WORK/out.ndjson" > /dev/null; }
check "every line is a schema-1 JSON record" schema_ok
check "good file analysed" [ "$(code_of good.flac)" = lossless ]
check "empty file" [ "$(code_of empty.flac)" = empty_file ]
check "truncated FLAC is an error" grep -q "$(code_of truncated.flac)" <<< "truncated decode_failed"
check "text named .flac" [ "$(code_of text.flac)" = not_audio ]
check "dangling symlink" [ "$(code_of dangling.flac)" = not_found ]
check "FIFO is not read" [ "$(code_of fifo.flac)" = not_regular_file ]
check "unreadable directory" [ "$(code_of locked)" = unreadable_directory ]
check "non-audio extension skipped" [ -z "$(code_of notes.txt)" ]
check "non-UTF-8 name keeps its bytes in path_b64" \
  [ "$(jq -r 'select(.path_b64) | .path_b64' "$WORK/out.ndjson" | base64 -d)" = "$T/sub/$(printf 'bad\xffname.flac')" ]
check "newline in a name stays one record" [ "$(jq -r 'select(.path | contains("\n")) | .verdict' "$WORK/out.ndjson")" = lossless ]
check "one record per entry, non-audio and symlinked directory skipped (9)" [ "$(wc -l < "$WORK/out.ndjson")" = 9 ]
check "stdout holds JSON only" bash -c "! grep -qv '^{' '$WORK/out.ndjson'"
check "problems are logged on stderr" grep -q "empty_file" "$WORK/err.log"
chmod 755 "$T/locked"; chmod 000 "$T/locked"
check "nothing under the scanned tree changed" [ "$before" = "$(snapshot)" ]
finish
