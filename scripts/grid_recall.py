#!/usr/bin/python3
"""Codec-grid recall on the corpus (used by scripts/grid-recall report).

Per family and statistic (evidence, z, excess), the firing threshold is the largest value
any lossless clip of the train and val splits reaches (times `margin`): no genuine
train/val clip fires. Test-split recall per codec and kind is reported at those
thresholds, for each statistic alone and for "any family fires".

usage: grid_recall.py CORPUS FEATURES.ndjson [--margin 1.05] [--stat excess]
"""
import argparse
import collections
import json
import os

FAMILIES = ["aac_sine", "aac_kbd", "vorbis", "wma", "ac3", "mp3"]
STATS = ["evidence", "z", "excess"]


def load(corpus, features):
    meta = {}
    for line in open(os.path.join(corpus, "manifest.jsonl")):
        r = json.loads(line)
        if r["kind"] == "spliced":   # one lossy passage in a genuine master: neither class
            continue
        meta[os.path.normpath(os.path.join(corpus, r["path"]))] = r
    rows = []
    for line in open(features):
        try:
            j = json.loads(line)
        except json.JSONDecodeError:
            continue
        if j.get("status") != "ok":
            continue
        m = meta.get(os.path.normpath(j["path"]))
        if m is None:
            continue
        rows.append((m, j["features"]))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("features")
    ap.add_argument("--margin", type=float, default=1.0)
    ap.add_argument("--thresholds", help="JSON file of thresholds to use instead of fitting them")
    args = ap.parse_args()
    rows = load(args.corpus, args.features)
    print(f"{len(rows)} clips with features")
    fit = [(m, f) for m, f in rows if m["split"] in ("train", "val")]
    test = [(m, f) for m, f in rows if m["split"] == "test"]

    def value(f, fam, stat):
        v = f.get(f"grid_{fam}_{stat}")
        return v if v is not None else float("-inf")

    if args.thresholds:
        thr = json.load(open(args.thresholds))
    else:
        thr = {}
        for stat in STATS:
            for fam in FAMILIES:
                vals = [value(f, fam, stat) for m, f in fit if m["label"] == "lossless"]
                top = max(vals) if vals else float("inf")
                thr[f"{fam}_{stat}"] = top * args.margin if top > 0 else top + 1e-9
    n_fit_lossless = sum(1 for m, _ in fit if m["label"] == "lossless")
    print(f"thresholds (max over {n_fit_lossless} lossless train/val clips x {args.margin}):")
    for k, v in thr.items():
        print(f"  {k:20s} {v:.5g}")

    def fires(f, stat, fam=None):
        fams = [fam] if fam else FAMILIES
        return any(value(f, x, stat) > thr[f"{x}_{stat}"] for x in fams)

    def group(m):
        return (m["kind"], m["codec"] or "-")

    for split_name, split in (("train+val", fit), ("test", test)):
        print(f"\n== {split_name}: fraction that fires (any family), per kind/codec")
        by = collections.defaultdict(list)
        for m, f in split:
            by[group(m)].append(f)
        header = "kind/codec".ljust(28) + "n".rjust(5) + "".join(s.rjust(10) for s in STATS)
        header += "".join(fam.rjust(10) for fam in FAMILIES)
        print(header + "   (per-family columns: excess)")
        for key in sorted(by):
            fs = by[key]
            line = f"{key[0] + '/' + key[1]:28s}{len(fs):5d}"
            for stat in STATS:
                line += f"{sum(fires(f, stat) for f in fs) / len(fs):10.2f}"
            for fam in FAMILIES:
                line += f"{sum(fires(f, 'excess', fam) for f in fs) / len(fs):10.2f}"
            print(line)
        lossy = [f for m, f in split if m["label"] == "lossy"]
        lossless = [f for m, f in split if m["label"] == "lossless"]
        print(f"  grid_fires (the built-in GridRule): lossy recall {sum(f.get('grid_fires') == 1 for f in lossy)}"
              f"/{len(lossy)}, lossless firing {sum(f.get('grid_fires') == 1 for f in lossless)}/{len(lossless)}")
        for kind in ("genuine", "bandlimited", "upsampled", "padded"):
            ks = [f for m, f in split if m["kind"] == kind]
            print(f"    {kind}: {sum(f.get('grid_fires') == 1 for f in ks)}/{len(ks)} fire")
        for stat in STATS:
            print(f"  {stat}: lossy recall {sum(fires(f, stat) for f in lossy)}/{len(lossy)}, "
                  f"lossless firing {sum(fires(f, stat) for f in lossless)}/{len(lossless)}")
    # per-codec recall on the test split (the built-in rule)
    for title, keyf in (("codec", lambda m: (m["codec"],)), ("codec and bitrate (0: VBR)",
                                                            lambda m: (m["codec"], m.get("bitrate_kbps") or 0))):
        print(f"\n== test, lossy + chain + lossy_padded: grid_fires recall per {title}")
        by = collections.defaultdict(list)
        for m, f in test:
            if m["kind"] in ("lossy", "chain", "lossy_padded"):
                by[keyf(m)].append(f)
        for key in sorted(by):
            fs = by[key]
            hit = sum(f.get("grid_fires") == 1 for f in fs)
            print(f"  {' '.join(str(k) for k in key):16s} {hit:4d}/{len(fs):<4d} {hit / len(fs):6.1%}")


if __name__ == "__main__":
    main()
