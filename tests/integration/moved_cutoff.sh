#!/usr/bin/env bash
# What survives a moved (here: removed) low-pass, on files made now with Debian's sox and
# lame: lame with --lowpass -1 leaves no cutoff on the mid, but its quantiser still punches
# holes, makes the top bands flicker, and joint stereo still cuts the side channel low.
# Also: sox upsampling (the original rate is recovered) and 16-bit data dithered in 24 bits.
. "$(dirname "$0")/lib.sh" "$1"
need sox lame flac jq
cd "$WORK"
make_genuine_clip  # genuine.wav and genuine.flac
for b in 96 128; do
  lame --silent -b $b --lowpass -1 genuine.wav g$b.mp3
  lame --silent --decode g$b.mp3 d$b.wav
  flac -s -f -o nolp_$b.flac d$b.wav
done
sox -R genuine.wav -r 96000 -b 24 up96.flac rate -v
# sox does not dither a 16 -> 24 bit conversion that loses nothing: add +-2 LSB (24-bit)
# of white noise by hand, as a padder that dithers at the new depth would.
sox -R -r 44100 -n -b 24 -c 2 lsb.wav synth 12 whitenoise vol 0.00000024 2>/dev/null
sox -R -m -v 1 genuine.wav -v 1 lsb.wav -b 24 dith24.flac
"$BIN" features genuine.flac nolp_96.flac nolp_128.flac up96.flac dith24.flac > out.ndjson 2> err.log
jq -c '{path, f: (.features | {cutoff_hz, hole_rate_high, dropout_rate_high, flicker_high, edge_level_std_db,
        side_cutoff_hz, side_hf_drop_db, upsample_edge_hz, original_rate_estimate_hz, effective_bits,
        grid16_concentration, original_bits_estimate})}' out.ndjson
f() { field out.ndjson "$1" ".features.$2"; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "null" && a + 0 > b + 0) }'; }
check "five records" [ "$(wc -l < out.ndjson)" = 5 ]
check "genuine: no holes in the top octave" [ "$(f genuine.flac hole_rate_high)" = 0 ]
check "genuine: no side cutoff" [ "$(f genuine.flac side_cutoff_hz)" = null ]
for b in 96 128; do
  check "lame $b --lowpass -1: no cutoff on the mid (the premise)" [ "$(f nolp_$b.flac cutoff_hz)" = null ]
  check "lame $b --lowpass -1: holes in the top octave" gt "$(f nolp_$b.flac hole_rate_high)" 0
  check "lame $b --lowpass -1: top bands flicker more than the genuine's" \
    gt "$(f nolp_$b.flac flicker_high)" "$(f genuine.flac flicker_high)"
  check "lame $b --lowpass -1: energy below 22 kHz swings >= 4 dB more over time" \
    gt "$(f nolp_$b.flac edge_level_std_db)" "$(awk -v g="$(f genuine.flac edge_level_std_db)" 'BEGIN { print g + 4 }')"
  check "lame $b --lowpass -1: joint stereo cut the side below 18 kHz" \
    awk -v c="$(f nolp_$b.flac side_cutoff_hz)" 'BEGIN { exit !(c != "null" && c < 18000) }'
  check "lame $b --lowpass -1: the side loses its top relative to the mid (> 15 dB)" \
    gt "$(f nolp_$b.flac side_hf_drop_db)" 15
done
check "sox 44.1 -> 96 kHz: the edge lies just under 22.05 kHz" \
  awk -v e="$(f up96.flac upsample_edge_hz)" 'BEGIN { exit !(e > 19000 && e <= 22100) }'
check "sox 44.1 -> 96 kHz: original rate 44100" [ "$(f up96.flac original_rate_estimate_hz)" = 44100 ]
check "16 bits dithered into 24: all 24 bits used" [ "$(f dith24.flac effective_bits)" = 24 ]
check "16 bits dithered into 24: on the 16-bit grid" gt "$(f dith24.flac grid16_concentration)" 0.9
check "16 bits dithered into 24: original depth 16" [ "$(f dith24.flac original_bits_estimate)" = 16 ]
check "genuine 16-bit file: original depth 16" [ "$(f genuine.flac original_bits_estimate)" = 16 ]
finish
