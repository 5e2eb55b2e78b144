#!/usr/bin/env bash
# The same PCM as FLAC -0, FLAC -8, WAV and AIFF (made by Debian's flac and sox, not by
# libsndfile) gives identical verdicts and identical numbers.
. "$(dirname "$0")/lib.sh" "$1"
need sox lame flac jq
cd "$WORK"
sox -R -r 48000 -n -b 24 -c 2 src.wav synth 6 pinknoise vol 0.3 sinc -17000 2>/dev/null
flac -s -f -0 -o l0.flac src.wav
flac -s -f -8 -o l8.flac src.wav
sox src.wav same.aiff
cp src.wav same.wav
for f in l0.flac l8.flac same.wav same.aiff; do
  "$BIN" scan --format ndjson "$f" 2>/dev/null | jq -S -c 'del(.path, .elapsed_ms, .format.container)'
done > all.txt
cat all.txt | head -1
check "four records" [ "$(wc -l < all.txt)" = 4 ]
check "identical records" [ "$(sort -u all.txt | wc -l)" = 1 ]
check "files really differ" [ "$(md5sum l0.flac l8.flac | awk '{print $1}' | sort -u | wc -l)" = 2 ]
finish
