#!/usr/bin/env bash
# Spectrogram images and the HTML report, end to end: PNG size and format, scan
# --spectrograms (one image per flagged file, nothing written under the scanned tree),
# and a report that fetches nothing from the network, from a file and from stdin.
. "$(dirname "$0")/lib.sh" "$1"
need sox lame flac file jq
cd "$WORK"
sox -R -r 44100 -n -b 16 -c 2 tone.wav synth 6 pluck C3 pluck E3 pluck G3 vol 0.4 2>/dev/null
sox -R -r 44100 -n -b 16 -c 2 hiss.wav synth 6 pinknoise vol 0.08 2>/dev/null
sox -R -m tone.wav hiss.wav -b 16 genuine.wav
mkdir -p music/a music/b
flac -s -f -o music/a/genuine.flac genuine.wav
lame --silent -b 128 genuine.wav g.mp3 && lame --silent --decode g.mp3 d.wav
flac -s -f -o music/a/track.flac d.wav
cp music/a/track.flac music/b/track.flac

"$BIN" spectrogram music/a/track.flac -o s.png --width 1200 --height 600 > s.json 2> s.log
code=$?
check "spectrogram exits 1 for a flagged file ($code)" [ "$code" = 1 ]
check "PNG 1200 x 600" sh -c 'file s.png | grep -q "PNG image data, 1200 x 600"'
check "the verdict record is on stdout" [ "$(jq -r .verdict s.json)" = lossy ]
"$BIN" spectrogram music/a/genuine.flac -o g.png --holes > /dev/null 2>&1
check "default size 1280 x 720" sh -c 'file g.png | grep -q "PNG image data, 1280 x 720"'

find music -type f | sort > before.txt
"$BIN" scan --format ndjson music --spectrograms imgs > r.ndjson 2> scan.log
code=$?
check "scan exits 1 (flagged) ($code)" [ "$code" = 1 ]
check "two images, one per flagged file (same base name, no collision)" [ "$(ls imgs | wc -l)" = 2 ]
check "images are PNGs named after the files" sh -c 'for f in imgs/*; do case "$f" in imgs/track.flac.*.png) file "$f" | grep -q "PNG image data" || exit 1 ;; *) exit 1 ;; esac; done'
find music -type f | sort > after.txt
check "nothing written under the scanned tree" cmp -s before.txt after.txt

"$BIN" report r.ndjson -o r.html 2> report.log
check "report exits 0" [ $? = 0 ]
check "an HTML page" grep -qi '<!DOCTYPE html>' r.html
check "three rows" [ "$(grep -o '<tr data-verdict=' r.html | wc -l)" = 3 ]
check "two spectrograms inline as data: URIs" [ "$(grep -o 'src="data:image/png;base64,' r.html | wc -l)" = 2 ]
check "no http(s) src or href" sh -c '! grep -Eqi "(src|href)[[:space:]]*=[[:space:]]*[\"'"'"']?[[:space:]]*(https?:)?//" r.html'
check "no url(), @import or link elements that could fetch" sh -c '! grep -Eqi "url\(|@import|<link" r.html'
check "no external scripts" sh -c '! grep -Eqi "<script[^>]+src" r.html'
"$BIN" report - --max-images 1 < r.ndjson > stdin.html 2>/dev/null
check "report reads stdin, caps images at --max-images" [ "$(grep -o 'data:image/png' stdin.html | wc -l)" = 1 ]
finish
