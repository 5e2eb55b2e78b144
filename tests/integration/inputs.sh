#!/usr/bin/env bash
# Inputs of a library scan: --files-from (newline and -0, from find -print0) with odd names,
# --exclude, --shard K/N partitions, symbolic link loops, one error record per unreadable
# path, progress and quiet modes, --log-file.
. "$(dirname "$0")/lib.sh" "$1"
need sox flac jq
T=$WORK/lib
mkdir -p "$T/Artist/Album" "$T/Podcasts" "$T/deep/er"
sox -R -r 44100 -n -b 16 -c 2 "$WORK/g.wav" synth 1 pinknoise vol 0.3 2>/dev/null
flac -s -f -o "$WORK/g.flac" "$WORK/g.wav"
names=("with space.flac" "line
break.flac" "$(printf 'bad\xffbyte.flac')" "-dash.flac" "quote'\"q.flac" "tab	tab.flac" "ünïcødé.flac")
for n in "${names[@]}"; do cp "$WORK/g.flac" "$T/Artist/Album/$n"; done
for i in $(seq 1 20); do cp "$WORK/g.flac" "$T/deep/er/$i.flac"; done
cp "$WORK/g.flac" "$T/Podcasts/episode.flac"
cp "$WORK/g.flac" "$T/Artist/Album/partial.tmp.flac"
ln -s "$T" "$T/deep/loop"                # a loop
ln -s "$T/deep" "$T/deep/er/up"          # another one
all=$((${#names[@]} + 20 + 2))

# --files-from - -0 with find -print0
find "$T" -name '*.flac' -print0 | "$BIN" scan --files-from - -0 > "$WORK/nul.ndjson" 2> "$WORK/nul.err"
check "find -print0 | --files-from - -0: every file once ($(wc -l < "$WORK/nul.ndjson") of $all)" \
  [ "$(jq -s '[.[] | .path_b64 // .path] | unique | length' "$WORK/nul.ndjson")" = "$all" ]
check "odd names all analysed" [ "$(jq -r 'select(.status == "ok") | .path' "$WORK/nul.ndjson" | grep -c Album/)" -ge 7 ]
check "a newline in a name survives -0" [ "$(jq -r 'select(.path | contains("line\nbreak")) | .status' "$WORK/nul.ndjson")" = ok ]
check "non-UTF-8 bytes survive -0" \
  [ "$(jq -r 'select(.path_b64) | .path_b64' "$WORK/nul.ndjson" | base64 -d)" = "$T/Artist/Album/$(printf 'bad\xffbyte.flac')" ]

# A newline-separated list from a file, with paths that cannot be read
{ echo "$T/deep/er/1.flac"; echo "$T/missing.flac"; echo; echo "$T/Podcasts"; echo "$T/nowhere/"; } > "$WORK/list.txt"
"$BIN" scan --files-from "$WORK/list.txt" --ordered > "$WORK/list.ndjson" 2>/dev/null
code=$?
check "list: 2 files, one error record per unreadable path" [ "$(wc -l < "$WORK/list.ndjson")" = 4 ]
check "list: missing paths are not_found records" [ "$(jq -r 'select(.error) | .error.code' "$WORK/list.ndjson" | sort -u)" = not_found ]
check "list: exit status has +4 ($code)" [ $((code & 4)) = 4 ]
check "paths and a list together" \
  [ "$("$BIN" scan "$T/deep/er/2.flac" --files-from "$WORK/list.txt" -q | wc -l)" = 5 ]

# --exclude on names and on whole paths
"$BIN" scan "$T" --exclude Podcasts --exclude '*.tmp.flac' --exclude "$T/deep/*" -q > "$WORK/ex.ndjson"
check "--exclude: a directory by name, files by glob, a subtree by path" \
  [ "$(wc -l < "$WORK/ex.ndjson")" = "${#names[@]}" ]

# Links: loops end, with and without --follow-symlinks
timeout 30 "$BIN" scan "$T" --follow-symlinks -q > "$WORK/follow.ndjson"; code=$?
check "--follow-symlinks over two link loops terminates ($code)" [ "$code" -lt 8 ]
check "--follow-symlinks: every file once" [ "$(jq -s 'length' "$WORK/follow.ndjson")" = "$all" ]
timeout 30 "$BIN" scan "$T" -q > "$WORK/nofollow.ndjson"
check "without it the links are not entered" [ "$(jq -s 'length' "$WORK/nofollow.ndjson")" = "$all" ]

# Shards: 1/3 2/3 3/3 together are the whole set, no overlap, each part non-empty
for k in 1 2 3; do "$BIN" scan "$T" --shard "$k/3" -q > "$WORK/shard$k.ndjson"; done
# one line per record: the path as JSON (a newline in a name stays escaped)
cat "$WORK"/shard?.ndjson | jq -c '.path_b64 // .path' | sort > "$WORK/shards.txt"
jq -c '.path_b64 // .path' "$WORK/nofollow.ndjson" | sort > "$WORK/whole.txt"
check "shard union equals the whole set" cmp -s "$WORK/shards.txt" "$WORK/whole.txt"
check "no path in two shards" [ "$(sort "$WORK/shards.txt" | uniq -d | wc -l)" = 0 ]
check "every shard has work" [ -s "$WORK/shard1.ndjson" -a -s "$WORK/shard2.ndjson" -a -s "$WORK/shard3.ndjson" ]
check "the split is stable: the same run gives the same part" \
  [ "$("$BIN" scan "$T" --shard 2/3 -q | jq -r .path | sort | md5sum)" = "$(jq -r .path "$WORK/shard2.ndjson" | sort | md5sum)" ]
check "--shard 0/3 is a usage error" bash -c "'$BIN' scan '$T' --shard 0/3 2>/dev/null; [ \$? = 2 ]"

# People and cron
"$BIN" scan "$T/deep" --progress always > "$WORK/p.ndjson" 2> "$WORK/p.err"
check "--progress always draws on stderr" grep -q "files" "$WORK/p.err"
check "... and never on stdout" bash -c "! grep -q \$'\\r' '$WORK/p.ndjson' && jq -e . '$WORK/p.ndjson' >/dev/null"
"$BIN" scan "$T/deep" > /dev/null 2> "$WORK/np.err"
check "no progress when stderr is not a terminal" bash -c "! grep -q \$'\\r' '$WORK/np.err'"
check "the summary is on stderr" grep -q "22 files\|20 files" "$WORK/np.err"
echo "not audio" > "$WORK/bad.flac"
"$BIN" scan -q --log-file "$WORK/log/fakeless.log" "$T/deep" "$WORK/bad.flac" > /dev/null 2> "$WORK/q.err"
check "-q leaves stderr empty even with an error" [ ! -s "$WORK/q.err" ]
check "--log-file has the warning and the summary" \
  bash -c "grep -q 'warning: .*bad.flac: not_audio' '$WORK/log/fakeless.log' && grep -q 'info: 21 files' '$WORK/log/fakeless.log'"
check "--only-flagged writes nothing for a genuine library" [ "$("$BIN" scan "$T/deep" --only-flagged -q | wc -l)" = 0 ]
finish
