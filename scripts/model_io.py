"""Helpers the training and fusion scripts share (train-tree, train-cnn, fusion-cv, fit-fusion,
fit-segments).

Standard library and numpy only, so that any of them can import it (the scripts' own
directory is on sys.path when they run).
"""
import glob
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def cache_dir():
    """Where training keeps its dumps: $XDG_CACHE_HOME (or ~/.cache)/fakeless/train."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "fakeless", "train")


# The sources of the C++ front end that compute `fakeless features` and `fakeless patches`
# (not the models, the CLI or the reports), relative to the checkout.
FRONT_END_SOURCES = ["src/features", "src/dsp", "src/io", "src/pipeline", "include/fakeless/features",
                     "include/fakeless/dsp", "include/fakeless/io", "include/fakeless/analysis.hpp",
                     "include/fakeless/params.hpp", "include/fakeless/pipeline.hpp"]


def front_end_digest(h):
    """Feeds this checkout's FRONT_END_SOURCES (names and contents) into the hashlib object h.
    The training caches are keyed by what the binary prints for data/samples and by this:
    the samples alone miss changes none of them shows (a grid rule threshold that no sample
    crosses left the key as it was, and a stale feature dump was reused)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    for src in FRONT_END_SOURCES:
        top = os.path.join(root, src)
        files = [top] if os.path.isfile(top) else sorted(
            os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs)
        for path in files:
            with open(path, "rb") as f:
                h.update(os.path.relpath(path, root).encode() + b"\0" + f.read() + b"\0")


def default_manifest():
    """The full corpus's manifest ($FAKELESS_CORPUS_DIR, else next to the training cache)."""
    base = os.environ.get("FAKELESS_CORPUS_DIR") or os.path.join(os.path.dirname(cache_dir()), "corpus")
    return os.path.join(base, "full", "manifest.jsonl")


def fnv_name(path, name):
    """"<name>@<digest>" as src/model/model_files.cpp names a model file (FNV-1a 64, 8 hex)."""
    h = 1469598103934665603
    with open(path, "rb") as f:
        for ch in f.read():
            h = ((h ^ ch) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%s@%s" % (name, ("%016x" % h)[:8])


def newest(models, prefix):
    """The model file "<prefix>*.json" with the greatest name in `models` (what the build embeds)."""
    files = sorted(f for f in glob.glob(os.path.join(models, prefix + "*.json")) if not f.endswith(".checks.json"))
    if not files:
        sys.exit("no %s*.json in %s" % (prefix, models))
    return files[-1]


def scan_records(binary, paths, jobs, extra=(), batch=24):
    """`<binary> scan -q --format ndjson <extra>` over paths in batches of `batch`, `jobs` at a
    time: {realpath: record}."""
    batches = [paths[i:i + batch] for i in range(0, len(paths), batch)]

    def one(b):
        r = subprocess.run([binary, "scan", "-q", "--format", "ndjson", *extra] + b, capture_output=True, text=True)
        if r.returncode not in (0, 1, 4, 5):
            raise RuntimeError("%s scan failed (%d): %s" % (binary, r.returncode, r.stderr[-500:]))
        out = {}
        for line in r.stdout.splitlines():
            o = json.loads(line)
            out[os.path.realpath(o["path"])] = o
        return out

    res = {}
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        for d in ex.map(one, batches):
            res.update(d)
    return res


def cnn_logits(binary, paths, jobs, batch=24):
    """The C++ CNN's file logit (`<binary> scan --model cnn`: evidence.cnn.logit) per path;
    None where the file has none."""
    recs = scan_records(binary, paths, jobs, ["--model", "cnn"], batch)
    return {p: ((o.get("evidence") or {}).get("cnn") or {}).get("logit") for p, o in recs.items()}


def pick_threshold(p, y):
    """The CNN's and the fusion's rule: the lowest threshold >= 0.5 (step 0.01) that flags
    no lossless clip (y == 0); 0.99 when none does."""
    neg = y == 0
    for t in np.arange(0.50, 0.995, 0.01):
        if not (p[neg] >= t).any():
            return round(float(t), 2)
    return 0.99


def write_fusion(cnn_path, fusion):
    """Replaces the "fusion" line of a CNN model JSON (scripts/train-cnn writes it on a line of
    its own) with `fusion`; every other byte stays as it was. Exits when there is not exactly
    one such line. Used by scripts/fit-fusion (new weights) and scripts/fusion-cv (threshold)."""
    text = open(cnn_path, encoding="utf-8").read()
    line = '"fusion":' + json.dumps(fusion, separators=(",", ":")) + ","
    new, n = re.subn(r'^"fusion":\{[^\n]*\},$', lambda _: line, text, flags=re.M)
    if n != 1:
        sys.exit("no single \"fusion\" line in %s" % cnn_path)
    with open(cnn_path, "w", encoding="utf-8") as f:
        f.write(new)


def make_joins(manifest, split, out_dir, limit=None):
    """Genuine files with one hard edit between two differently mastered recordings: every
    ordered pair (a, b) of the split's 44.1 kHz stereo 16-bit lossless masters of different
    sources, a then b, joined end to end (sox; made once into out_dir, in path order; limit:
    the first that many pairs). Returns their paths."""
    root = os.path.dirname(manifest)
    masters = []
    with open(manifest) as f:
        for line in f:
            m = json.loads(line)
            if (m.get("variant") == "master" and m.get("split") == split and m.get("label") == "lossless"
                    and m.get("rate") == 44100 and m.get("channels") == 2 and m.get("bits") == 16):
                masters.append(m)
    masters.sort(key=lambda m: m["path"])
    source = [m["path"].split("/")[1] for m in masters]
    pairs = [(i, j) for i in range(len(masters)) for j in range(len(masters)) if source[i] != source[j]]
    os.makedirs(out_dir, exist_ok=True)
    out = []
    for i, j in pairs[:limit]:
        dst = os.path.join(out_dir, "pair-%03d-%03d.flac" % (i, j))
        if not os.path.exists(dst):
            tmp = dst + ".tmp.flac"
            subprocess.run(["sox", "-R", "-V1", os.path.join(root, masters[i]["path"]),
                            os.path.join(root, masters[j]["path"]), "-b", "16", tmp], check=True)
            os.replace(tmp, dst)
        out.append(dst)
    return out


SEGMENT_CONTRASTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def segment_fires(lo, t, c):
    """Whether a file with segment log odds `lo` has a segment that fires under threshold t and
    contrast c: lo >= logit(t) and lo - (the lower quartile of lo) >= c
    (model::segment_reference: a passage spanning half of a short file's segments would be its
    own median)."""
    if len(lo) == 0:
        return False
    ref = np.percentile(lo, 25)
    return bool(((lo >= np.log(t / (1 - t)) - 1e-12) & (lo - ref >= c)).any())


def choose_segment_rule(per_file):
    """The segment rule from (kind, label, log odds) per file: over SEGMENT_CONTRASTS and
    thresholds 0.50-0.99, the most "spliced" files firing with no lossless file firing; ties to
    the stricter rule. Returns (spliced firing, contrast, threshold); (0, 4.0, 0.99) when no
    rule keeps every lossless file quiet."""
    best = None
    for c in SEGMENT_CONTRASTS:
        for t in np.arange(0.50, 0.995, 0.01):
            t = round(float(t), 2)
            if any(segment_fires(lo, t, c) for _, l, lo in per_file if l == "lossless"):
                continue
            tp = sum(segment_fires(lo, t, c) for k, _, lo in per_file if k == "spliced")
            if best is None or (tp, c, t) > best:
                best = (tp, c, t)
    return best if best else (0, 4.0, 0.99)
