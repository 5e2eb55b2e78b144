#!/usr/bin/env bash
# Resource limits: a per-file time budget and a memory cap keep one bad file from
# stalling a cron run; both end as error records (or a usage error), never a hang.
. "$(dirname "$0")/lib.sh" "$1"
need sox flac jq
cd "$WORK"
sox -R -r 44100 -n -b 16 -c 2 a.wav synth 20 pinknoise vol 0.3 2>/dev/null
flac -s -f -o a.flac a.wav
"$BIN" scan --timeout 0.000001 --format ndjson a.flac a.wav > t.ndjson 2> /dev/null
code=$?
check "a file over its time budget is a timeout error record" \
  [ "$(jq -r '.error.code' t.ndjson | sort -u)" = timeout ]
check "exit status carries +4 ($code)" [ "$code" = 4 ]
"$BIN" scan --timeout 60 --format ndjson a.flac > ok.ndjson 2> /dev/null
check "a generous budget changes nothing" [ "$(jq -r .verdict ok.ndjson)" = lossless ]
"$BIN" scan --max-memory 256 -j 2 --format ndjson a.flac a.wav > m.ndjson 2> m.err
code=$?
check "a 256 MiB cap still analyses ($code)" [ "$code" = 0 ] && [ "$(jq -r .verdict m.ndjson | sort -u)" = lossless ]
"$BIN" scan --max-memory 64 a.flac > /dev/null 2>&1
check "a cap below 128 MiB is a usage error" [ $? = 2 ]
finish
