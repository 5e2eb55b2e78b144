#!/usr/bin/env bash
# A genuine clip and its lame 128 and 320 kbps round trips, made now with Debian's sox,
# lame and flac: the 128k one must be flagged lossy, the genuine one must pass.
. "$(dirname "$0")/lib.sh" "$1"
need sox lame flac jq
cd "$WORK"
make_genuine_clip  # genuine.wav and genuine.flac
for b in 128 320; do
  lame --silent -b $b genuine.wav g$b.mp3
  lame --silent --decode g$b.mp3 d$b.wav
  flac -s -f -o mp3_$b.flac d$b.wav
done
"$BIN" scan --ordered --format ndjson genuine.flac mp3_128.flac mp3_320.flac > out.ndjson 2> err.log
code=$?
cat out.ndjson | jq -c '{path, verdict, p_lossy, cutoff: .evidence.cutoff_hz, sharp: .evidence.cutoff_sharpness_db, stab: .evidence.cutoff_stability}'
check "three records" [ "$(wc -l < out.ndjson)" = 3 ]
check "genuine passes as lossless" [ "$(field out.ndjson genuine.flac .verdict)" = lossless ]
check "genuine has no cutoff" [ "$(field out.ndjson genuine.flac .evidence.cutoff_hz)" = null ]
check "128 kbps round trip is flagged lossy" [ "$(field out.ndjson mp3_128.flac .verdict)" = lossy ]
check "128 kbps cutoff is near lame's 16-17 kHz low-pass" \
  awk -v c="$(field out.ndjson mp3_128.flac .evidence.cutoff_hz)" 'BEGIN { exit !(c > 15500 && c < 17500) }'
check "320 kbps round trip has a cutoff near 20 kHz" \
  awk -v c="$(field out.ndjson mp3_320.flac .evidence.cutoff_hz)" 'BEGIN { exit !(c > 19000 && c < 21000) }'
check "exit status 1: something flagged, no errors ($code)" [ "$code" = 1 ]
finish
