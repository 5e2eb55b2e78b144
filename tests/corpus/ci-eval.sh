#!/bin/sh
# CTest integration check: build the ci corpus (cached, resumable) and evaluate a fakeless
# binary on all of it.  Usage:
#   tests/corpus/ci-eval.sh FAKELESS_BIN CORPUS_DIR [scripts/eval floor options...]
# e.g. tests/corpus/ci-eval.sh build/fakeless build/corpus-ci --min-accuracy 60 --max-fpr 20
# Exit: 0 pass, 1 a floor not met, 2 tools missing or a build/run error.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 FAKELESS_BIN CORPUS_DIR [eval options]" >&2; exit 2; }
bin=$1; out=$2; shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
/usr/bin/python3 "$root/scripts/corpus" --size ci --out "$out" -j 2 || exit 2
exec /usr/bin/python3 "$root/scripts/eval" --manifest "$out/manifest.jsonl" --split all \
    --bin "$bin" "$@"
