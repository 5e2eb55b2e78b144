"""Corpus plan and build: sources -> masters -> variants -> manifest.jsonl.

Layout under OUT:
  clips/<source_id>/<variant>.<flac|wav|aif>   the audio
  clips/<source_id>/<variant>.json             its manifest record (written after the audio)
  clips/<source_id>/master.skip.json           a source found unusable (too short, silent)
  spectra/<source_id>.npz                      long-term spectrum of the master
  manifest.jsonl                               all records, in plan order
  build.json                                   size, versions, timings, failures
A clip whose .json exists is finished: a re-run skips it.  Audio is written under a
temporary name and renamed, the record likewise, so an interrupted run leaves no
half-written clip that looks finished.
"""

import concurrent.futures as cf
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

from . import audio, codecs, sources

VERSION = 1

# ----------------------------------------------------------------------------- splits
def split_of_sources(ids):
    """Deterministic split by source: sources ordered by sha256(id); the first 70% train,
    the next 15% val, the rest test (ranks, so tiny corpora still get every split)."""
    order = sorted(ids, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    n = len(order)
    n_train = int(round(0.70 * n))
    n_val = max(1, int(round(0.15 * n))) if n >= 3 else 0
    if n >= 3 and n - n_train - n_val < 1:
        n_train -= 1
    out = {}
    for i, s in enumerate(order):
        out[s] = "train" if i < n_train else ("val" if i < n_train + n_val else "test")
    return out


def u01(*parts):
    h = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little") / 2.0 ** 64


# ----------------------------------------------------------------------------- sources
def plan_sources(size):
    fonts = sources.FONTS
    specs = []
    if size == "ci":
        D = 7
        specs = [
            dict(id="midi-lib-pflib-rock1", type="midi", midi="/usr/share/mma/lib/pflib/rock1.mid",
                 font=fonts[0], rate=44100, bits=16, channels=2, duration_s=D, level="normal"),
            dict(id="mma-bossanova", type="mma", groove="BossaNova", bars=12, font=fonts[1],
                 rate=44100, bits=16, channels=2, duration_s=D, level="normal"),
            dict(id="mma-countryswing", type="mma", groove="CountrySwing", bars=12, font=fonts[0],
                 rate=44100, bits=16, channels=2, duration_s=D, level="loud"),
            dict(id="melody-flute-quiet", type="melody", program=73, font=fonts[0], rate=48000,
                 bits=16, channels=1, duration_s=D, level="quiet"),
            dict(id="mix-rock-44k", type="mix", rate=44100, bits=16, channels=2, duration_s=D,
                 layers=["drums", "bass", "pad", "pluck"], kit="rock", bass="saw", level="normal"),
            dict(id="mix-808-96k", type="mix", rate=96000, bits=24, channels=2, duration_s=D,
                 layers=["drums", "hats", "bass", "bell"], kit="808", bass="pluck", level="normal"),
            dict(id="speech-espeak-48k", type="speech", rate=48000, bits=16, channels=2, duration_s=D,
                 layers=["pad", "speech"], speech="espeak", level="normal"),
        ]
        for s in specs:
            s["min_duration_s"] = 4
        return specs
    # ---- full
    for i, m in enumerate(sources.shipped_midis()):
        rel = os.path.relpath(m, "/usr/share").replace("/", "_")
        sid = "midi-" + os.path.splitext(rel)[0].replace("doc_mma_examples_", "").replace("mma_lib_", "lib-")
        u = u01(sid, "fmt")
        specs.append(dict(id=sid, type="midi", midi=m, font=fonts[int(u01(sid, "font") * len(fonts))],
                          rate=48000 if u < 0.2 else 44100, bits=16,
                          channels=1 if u01(sid, "mono") < 0.1 else 2, duration_s=30,
                          min_duration_s=8, level=_level(sid)))
    grooves = sources.mma_grooves()
    step = max(1, len(grooves) // 80)
    for g in grooves[::step][:80]:
        sid = "mma-" + g.lower()
        u = u01(sid, "fmt")
        specs.append(dict(id=sid, type="mma", groove=g, bars=32,
                          font=fonts[int(u01(sid, "font") * len(fonts))],
                          rate=48000 if u < 0.2 else 44100, bits=16,
                          channels=1 if u01(sid, "mono") < 0.1 else 2, duration_s=30,
                          min_duration_s=8, level=_level(sid)))
    for i in range(30):
        prog = sources.SOLO_PROGRAMS[i % len(sources.SOLO_PROGRAMS)]
        sid = "melody-%02d-p%d" % (i, prog)
        specs.append(dict(id=sid, type="melody", program=prog, font=fonts[i % len(fonts)],
                          rate=48000 if i % 4 == 3 else 44100, bits=16,
                          channels=1 if i % 5 == 2 else 2, duration_s=20,
                          level="quiet" if i % 3 == 0 else "normal"))
    rates = [44100, 44100, 48000, 96000, 44100, 88200, 44100, 48000, 96000, 44100]
    all_layers = ["drums", "hats", "bass", "pad", "pluck", "bell", "speech"]
    for i in range(50):
        sid = "mix-%02d" % i
        rng = np.random.default_rng(sources.seed_of(sid + "plan"))
        layers = [l for l in all_layers if rng.random() < (0.3 if l == "speech" else 0.6)]
        while len(layers) < 3:
            l = all_layers[rng.integers(len(all_layers))]
            if l not in layers:
                layers.append(l)
        if "pluck" in layers and "bell" in layers:
            layers.remove("bell")
        r = rates[i % len(rates)]
        specs.append(dict(id=sid, type="mix", rate=r, bits=24 if r > 48000 else 16,
                          channels=1 if i % 5 == 4 else 2, duration_s=15, layers=layers,
                          kit="rock" if rng.random() < 0.5 else "808",
                          bass="pluck" if rng.random() < 0.5 else "saw",
                          speech="espeak" if rng.random() < 0.7 else "sample", level=_level(sid)))
    for i in range(16):
        sid = "speech-%02d" % i
        layers = ["pad", "speech"] + (["pluck"] if i % 3 == 0 else [])
        specs.append(dict(id=sid, type="speech", rate=48000 if i % 2 else 44100, bits=16,
                          channels=1 if i % 4 == 1 else 2, duration_s=15, layers=layers,
                          speech="espeak" if i % 4 != 3 else "sample",
                          level="quiet" if i % 3 == 1 else "normal"))
    return specs


def _level(sid):
    u = u01(sid, "level")
    return "quiet" if u < 0.15 else ("loud" if u > 0.9 else "normal")


# ----------------------------------------------------------------------------- variants
DS2_CELLS = [(c, b, f) for c in ("aac", "vorbis", "mp3") for b in (128, 256, 320)
             for f in (14000, 16000, 18000, 20000)]
DS1_CELLS = [(c, b) for c in ("aac", "vorbis", "mp3") for b in (128, 256, 320)]


def _cfg(codec, mode="cbr", br=None, q=None, cut=None):
    return {"codec": codec, "mode": mode, "bitrate_kbps": br, "vbr_quality": q, "cutoff_hz": cut}


def ds_cfg(codec, br, cut):
    # paper 003 used ffmpeg's libvorbis with a bitrate: oggenc -b is the same ABR mode
    return _cfg(codec, "abr" if codec == "vorbis" else "cbr", br, None, cut)


def other_configs(mono):
    """The broad pool of lossy configs (codec x rate control x cutoff)."""
    cuts = [None, 14000, 16000, 18000, 20000]
    out = []
    for b in (96, 128, 160, 192, 256, 320):
        for c in cuts + [0]:
            out.append(_cfg("mp3", "cbr", b, None, c))
    for q in (0, 1, 2, 3, 4, 5, 6, 7):
        for c in cuts + [0]:
            out.append(_cfg("mp3", "vbr", None, q, c))
    for b in (96, 128, 160, 192, 256, 320):
        for c in cuts:
            out.append(_cfg("aac", "cbr", b, None, c))
    for q in range(0, 11):
        for c in cuts + [0]:
            out.append(_cfg("vorbis", "vbr", None, q, c))
    for b in (64, 96, 128, 160, 192, 256):
        for c in cuts:
            out.append(_cfg("opus", "vbr", b, None, c))
    for b in (160, 192, 256, 320, 384):
        for c in (None, 16000):
            out.append(_cfg("mp2", "cbr", b, None, c))
    for b in (192, 256, 384, 448, 640):
        for c in (None, 14000, 18000):
            out.append(_cfg("ac3", "cbr", b, None, c))
    for b in (96, 192, 256):
        out.append(_cfg("eac3", "cbr", b, None, None))
    for b in (128, 160, 192):
        for c in (None, 16000):
            out.append(_cfg("wmav2", "cbr", b, None, c))
    for b in (128, 192, 320):
        out.append(_cfg("mp3shine", "cbr", b, None, None))
    if mono:
        lim = {"mp2": 192, "ac3": 320, "eac3": 192, "wmav2": 96, "opus": 128, "aac": 192,
               "mp3shine": 160}
        out = [c for c in out if c["bitrate_kbps"] is None or c["bitrate_kbps"] <= lim.get(c["codec"], 320)]
        out = [c for c in out if not (c["codec"] == "wmav2")]   # wmav2 mono: too few rates
    return out


CHAINS = [
    [_cfg("mp3", "cbr", 320), _cfg("aac", "cbr", 256)],
    [_cfg("aac", "cbr", 192), _cfg("mp3", "vbr", None, 2)],
    [_cfg("vorbis", "vbr", None, 6), _cfg("mp3", "cbr", 320)],
    [_cfg("opus", "vbr", 128), _cfg("mp3", "vbr", None, 0)],
    [_cfg("mp3", "cbr", 128), _cfg("vorbis", "vbr", None, 8)],
    [_cfg("mp3", "vbr", None, 4), _cfg("mp3", "cbr", 320, None, 0)],
    [_cfg("aac", "cbr", 128, None, 16000), _cfg("aac", "cbr", 320)],
    [_cfg("mp2", "cbr", 256), _cfg("opus", "vbr", 192)],
]

UPS = [("sox-vhq", "sox rate -v"), ("sox-quick", "sox rate -q"), ("ffmpeg-swr", "ffmpeg aresample"),
       ("ffmpeg-soxr", "ffmpeg aresample=resampler=soxr")]


# ---- spliced: a genuine master with one passage replaced by its lossy round trip
# Codec settings, cycled over each split's spliced clips (mono falls through to the next
# setting its codec accepts in mono, as in other_configs).
SPLICE_CFGS = [_cfg("mp3", "cbr", 128), _cfg("mp3", "cbr", 192), _cfg("mp3", "cbr", 320),
               _cfg("mp3", "vbr", None, 0), _cfg("mp3", "vbr", None, 2),
               _cfg("aac", "cbr", 128), _cfg("aac", "cbr", 256),
               _cfg("vorbis", "vbr", None, 3), _cfg("vorbis", "vbr", None, 8),
               _cfg("opus", "vbr", 96), _cfg("opus", "vbr", 160)]
SPLICE_MONO_MAX = {"aac": 192, "opus": 128}
# spliced clips per split (full); the ci corpus gets SPLICE_CI in all, whatever the split
SPLICE_PER_SPLIT = {"train": 40, "val": 20, "test": 30}
SPLICE_CI = 4
SPLICE_OFFSET = {"train": 0, "val": 3, "test": 6}


def splice_window(sid, duration_s):
    """(start_s, end_s) of the passage to replace: 5-10 s long, at least max(1 s, 10 % of
    the clip) away from either end; drawn from hashes of the source id; on a 10 ms grid (a
    whole number of samples at 44.1 and 48 kHz).  None when the clip is too short."""
    margin = max(1.0, 0.1 * duration_s)
    max_len = min(10.0, duration_s - 2 * margin)
    if max_len < 5.0:
        return None
    length = 5.0 + u01(sid, "splice", "len") * (max_len - 5.0)
    start = margin + u01(sid, "splice", "pos") * (duration_s - 2 * margin - length)
    start = round(start, 2)
    end = min(round(start + length, 2), round(duration_s - margin, 2))
    return start, end


def plan_spliced(good, masters, splits, size):
    """[(spec, variant)] of spliced clips: one per chosen source, from its own master (so in
    its split).  Eligible: masters at 44.1/48 kHz, 16 bits, with room for a passage.  Per
    split, 30 s masters first, then by hash; the first SPLICE_PER_SPLIT[split] are taken."""
    elig = {}
    for s in good:
        m = masters[s["id"]]
        if m["rate"] > 48000 or m["bits"] != 16 or splice_window(s["id"], m["duration_s"]) is None:
            continue
        elig.setdefault("all" if size == "ci" else splits[s["id"]], []).append(s)
    out = []
    for split, ss in sorted(elig.items()):
        ss = sorted(ss, key=lambda s: (masters[s["id"]]["duration_s"] < 29.5, u01(s["id"], "splice")))
        ss = ss[:SPLICE_CI if size == "ci" else SPLICE_PER_SPLIT.get(split, 0)]
        for i, s in enumerate(ss):
            m = masters[s["id"]]
            # ci: every third setting, so its few clips cover mp3, aac and opus
            k = 3 * i if size == "ci" else i + SPLICE_OFFSET.get(split, 0)
            while True:
                c = SPLICE_CFGS[k % len(SPLICE_CFGS)]
                if m["channels"] > 1 or (c["bitrate_kbps"] or 0) <= SPLICE_MONO_MAX.get(c["codec"], 320):
                    break
                k += 1
            a, b = splice_window(s["id"], m["duration_s"])
            out.append((s, dict(kind="spliced", variant="spliced-" + codecs.describe(c), source=s["id"],
                                cfg=c, splice_start_s=a, splice_end_s=b)))
    return out


def plan_variants(src, master, split_members, size):
    """Variants of one source.  `master` = the master's record; `split_members` = the
    eligible (44.1 kHz stereo) source ids of this split in hash order, for spreading the
    DS2 grid evenly over each split."""
    sid = src["id"]
    rate, ch = master["rate"], master["channels"]
    out = []
    hires = rate > 48000
    mono = ch == 1
    ci = size == "ci"

    def add(kind, variant, **kw):
        out.append(dict(kind=kind, variant=variant, source=sid, **kw))

    # genuine, band-limited by a gentle filter
    if ci or u01(sid, "lp") < 0.5:
        f = [11000, 12500, 14000, 15500, 17000, 18000, 19000][int(u01(sid, "lpf") * 7)]
        if f >= 0.95 * rate / 2:
            f = 15000
        ftype = ["lowpass2", "lowpass4", "sinc-wide"][int(u01(sid, "lpt") * 3)]
        add("bandlimited", "lp-%s-%d" % (ftype, f // 100), filter=ftype, filter_hz=f)
    if ci and src["type"] == "melody":   # sparse quiet material, band-limited further
        add("bandlimited", "lp-lowpass2-110", filter="lowpass2", filter_hz=11000)
    if hires:
        # a lossy file made from hi-res material and put back at the hi-res rate/depth
        c = [_cfg("mp3", "cbr", 320), _cfg("aac", "cbr", 256), _cfg("opus", "vbr", 160)][int(u01(sid, "hl") * 3)]
        add("lossy_upsampled", "via48k-" + codecs.describe(c), cfg=c, via_rate=48000, out_rate=rate,
            out_bits=24, requant16=False)
        if not ci:
            c = _cfg("vorbis", "vbr", None, 5)
            add("lossy_upsampled", "via44k-" + codecs.describe(c), cfg=c, via_rate=44100, out_rate=rate,
                out_bits=24, requant16=False)
        return out
    # ---- 44.1/48 kHz 16-bit masters
    cfgs = []
    if rate == 44100 and ch == 2 and sid in split_members:
        i = split_members.index(sid)
        k = 2 if ci else 8
        for j in range(k):
            c, b, f = DS2_CELLS[(i * k + j) % len(DS2_CELLS)]
            cfgs.append((ds_cfg(c, b, f), "ds2"))
        k1 = 1 if ci else 2
        for j in range(k1):
            c, b = DS1_CELLS[(i * k1 + j) % len(DS1_CELLS)]
            cfgs.append((ds_cfg(c, b, None), "ds1"))
    if master["duration_s"] >= 29.5:
        cfgs.append((_cfg("mp3", "vbr", None, 0), "mp3v0_30s"))
    pool = other_configs(mono)
    n_other = 2 if ci else 4
    rng = np.random.default_rng(sources.seed_of(sid + "other"))
    for j in rng.choice(len(pool), n_other, replace=False):
        cfgs.append((pool[int(j)], "other"))
    seen = set()
    for c, grid in cfgs:
        name = codecs.describe(c)
        if name in seen:
            continue
        seen.add(name)
        add("lossy", name, cfg=c, grid=grid)
    # chain
    ch_i = int(u01(sid, "chain") * len(CHAINS))
    chain = CHAINS[ch_i]
    if not (mono and any(c["codec"] == "wmav2" for c in chain)):
        add("chain", "chain-" + "+".join(codecs.describe(c) for c in chain), chain=chain)
    # upsampled (lossless)
    meth = UPS[int(u01(sid, "ups") * len(UPS))][0]
    targets = [rate * 2, rate * 4, 96000 if rate == 44100 else 88200]
    tr = targets[int(u01(sid, "upr") * len(targets))]
    ub = 16 if u01(sid, "upb") < 0.2 else 24
    add("upsampled", "up-%s-%d-%d" % (meth, tr, ub), method=meth, out_rate=tr, out_bits=ub)
    if ci or u01(sid, "up2") < 0.3:     # upsampled, then dithered to 16 bits in a 24-bit file
        add("upsampled", "up-%s-%d-16in24" % (meth, tr), method=meth, out_rate=tr, out_bits=24,
            requant16=True)
    # padded (lossless)
    pk = int(u01(sid, "pad") * 3)
    pad = [("24", False, "flac"), ("24", True, "flac"), ("32", False, "wav")][pk]
    add("padded", "pad-%s-%s" % (pad[0], "dither" if pad[1] else "exact"), pad_bits=int(pad[0]),
        pad_dither=pad[1], container=pad[2])
    # lossy + upsampled / padded
    u = u01(sid, "lx")
    if ci or u < 0.5:
        c = [_cfg("mp3", "cbr", 192), _cfg("aac", "cbr", 256), _cfg("vorbis", "vbr", None, 7),
             _cfg("mp3", "vbr", None, 0)][int(u01(sid, "lxc") * 4)]
        if u01(sid, "lxk") < 0.5:
            tr = 96000 if rate == 48000 else 88200
            add("lossy_upsampled", "lossyup-%s-%d" % (codecs.describe(c), tr), cfg=c, via_rate=rate,
                out_rate=tr, out_bits=24, requant16=u01(sid, "lxq") < 0.3)
        else:
            add("lossy_padded", "lossypad24-" + codecs.describe(c), cfg=c, pad_bits=24)
    if not ci:
        # Decoder diversity (scripts/stress-decoders): a lossy clip decoded the way other
        # tools do, and the master (and half of the band-limited variants) re-dithered with
        # noise shaping, as mastering and editors do: the lossless side of the same trace.
        c = alt_decoder_cfg(sid, mono, rate)
        add("lossy", codecs.describe(c), cfg=c, grid="altdec")
        # and always one lossy clip through a noise-shaped dither, so that shaped dither is
        # on both sides (the re-dithered masters below are 1.5 per source)
        c2 = shaped_lossy_cfg(sid, mono, rate)
        if codecs.describe(c2) != codecs.describe(c):
            add("lossy", codecs.describe(c2), cfg=c2, grid="altdec")
        rd = redither_spec(sid, rate, "rd")
        add(master["kind"], "redither-%s-g%g" % (rd["filter"], rd["gain_db"]), redither=rd)
        lp = [v for v in out if v["kind"] == "bandlimited" and v["variant"].startswith("lp-")]
        if lp and u01(sid, "rdlp") < 0.5:
            rd = redither_spec(sid, rate, "rdlp")
            add("bandlimited", "%s-redither-%s" % (lp[0]["variant"], rd["filter"]), filter=lp[0]["filter"],
                filter_hz=lp[0]["filter_hz"], redither=rd)
    return out


# decoder diversity: (codec, decoder, weight); "shaped" takes one of sox's noise-shaping
# filters for the rate (codecs.SHAPED_FILTERS). Opus weighs most: opusdec's default output
# (its own noise-shaped dither) is what a plain `opusdec in.opus out.wav` gives.
ALT_DECODE = [("opus", "opusdec", 0.35), ("opus", "ffmpeg", 0.10), ("mp3", "ffmpeg", 0.10),
              ("mp3", "sox", 0.10), ("mp3", "shaped", 0.10), ("aac", "shaped", 0.10),
              ("vorbis", "shaped", 0.10), ("vorbis", "ffmpeg", 0.05)]


def alt_decoder_cfg(sid, mono, rate):
    """The codec config (encoder default cutoff) and decoder of a source's decoder-diversity clip."""
    u = u01(sid, "altdec")
    acc = 0.0
    for codec, dec, w in ALT_DECODE:
        acc += w
        if u < acc:
            break
    pool = [c for c in other_configs(mono) if c["codec"] == codec and c["cutoff_hz"] is None]
    c = dict(pool[int(u01(sid, "altcfg") * len(pool))])
    if dec == "shaped":
        fs = codecs.SHAPED_FILTERS[rate]
        dec = "shaped-" + fs[int(u01(sid, "altshape") * len(fs))]
    c["decoder"] = dec
    return c


def shaped_lossy_cfg(sid, mono, rate):
    """A lossy config (mp3, aac, vorbis or opus; encoder default cutoff) decoded to float
    and dithered to 16 bits with one of sox's noise-shaping filters."""
    codec = ["mp3", "aac", "vorbis", "opus"][int(u01(sid, "shl", "codec") * 4)]
    pool = [c for c in other_configs(mono) if c["codec"] == codec and c["cutoff_hz"] is None]
    c = dict(pool[int(u01(sid, "shl", "cfg") * len(pool))])
    fs = codecs.SHAPED_FILTERS[rate]
    c["decoder"] = "shaped-" + fs[int(u01(sid, "shl", "filter") * len(fs))]
    return c


def redither_spec(sid, rate, key):
    fs = codecs.SHAPED_FILTERS[rate]
    return {"gain_db": [-0.5, -1.0, -2.0, -3.0][int(u01(sid, key, "gain") * 4)],
            "filter": fs[int(u01(sid, key, "filter") * len(fs))]}


# ----------------------------------------------------------------------------- jobs
def clip_paths(out, sid, variant, container="flac"):
    d = os.path.join(out, "clips", sid)
    ext = {"flac": "flac", "wav": "wav", "aiff": "aif"}[container]
    return os.path.join(d, "%s.%s" % (variant, ext)), os.path.join(d, variant + ".json")


def container_of(sid, variant, forced=None):
    if forced:
        return forced
    u = u01(sid, variant, "container")
    return "wav" if u < 0.08 else ("aiff" if u < 0.12 else "flac")


def write_json_atomic(path, obj):
    tmp = audio.tmpname(path)
    with open(tmp, "w") as f:
        json.dump(obj, f, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _sox(*args):
    codecs._run(["sox", "-R"] + list(args))


def job_master(out, spec, split):
    sid = spec["id"]
    wav_path, rec_path = clip_paths(out, sid, "master", "flac")
    skip_path = os.path.join(out, "clips", sid, "master.skip.json")
    if os.path.exists(rec_path):
        return json.load(open(rec_path))
    if os.path.exists(skip_path):
        return json.load(open(skip_path))
    os.makedirs(os.path.dirname(wav_path), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="m-", dir=os.path.join(out, "tmp"))
    try:
        try:
            sources.render_master(spec, wav_path, tmp)
        except sources.SkipSource as e:
            rec = {"skipped": True, "source_id": sid, "reason": str(e)}
            write_json_atomic(skip_path, rec)
            return rec
        m, spec_db = audio.measure(wav_path)
        np.savez(os.path.join(out, "spectra", sid + ".npz"), f=spec_db[0], s=spec_db[1])
        nyq = m["rate"] / 2
        narrow = m["bandwidth_hz"] < 0.85 * nyq
        rec = base_record(out, wav_path, spec, split, m)
        rec.update(kind="bandlimited" if narrow else "genuine", label="lossless", variant="master",
                   bandlimit_cause="source" if narrow else None,
                   source_bandwidth_hz=m["bandwidth_hz"])
        if narrow and m["edge_drop_db"] is not None and m["edge_drop_db"] > 25:
            rec["notes"] = "brick-wall edge in a genuine render: check the source"
        write_json_atomic(rec_path, rec)
        return rec
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def base_record(out, path, spec, split, m):
    src_info = {k: spec[k] for k in ("type", "midi", "font", "groove", "program", "layers", "kit",
                                     "speech", "level") if k in spec}
    rec = {"path": os.path.relpath(path, out), "source_id": spec["id"], "split": split,
           "source": src_info, "container": os.path.splitext(path)[1][1:],
           "codec": None, "mode": None, "bitrate_kbps": None, "vbr_quality": None,
           "encoded_kbps": None, "cutoff_requested_hz": None, "cutoff_method": None,
           "measured_cutoff_hz": None, "cutoff_observable": None, "chain": None, "grid": None,
           "upsampled": False, "padded": False, "pad_dither": None, "orig_rate": None,
           "orig_bits": None, "filter": None, "generator_version": VERSION}
    rec.update(m)
    return rec



def _write_upsampled(src, part, method, v, sid, tmp):
    """Resample src to v["out_rate"] with `method` and write part at v["out_bits"]; with
    v["requant16"], requantise to 16 bits first (seeded TPDF dither) so the result is also padded."""
    up = os.path.join(tmp, "up.wav")
    _resample(src, up, method, v["out_rate"], tmp)
    if v.get("requant16"):
        x = audio.read(up)
        ints = audio.quantize(x, 16, np.random.default_rng(sources.seed_of(sid + v["variant"])))
        audio.write_int(part, ints, v["out_rate"], 16, v["out_bits"])
    else:
        _sox(up, "-b", str(v["out_bits"]), part)

def job_variant(out, spec, split, master_rec, v):
    sid = spec["id"]
    forced = v.get("container")
    container = container_of(sid, v["variant"], forced)
    path, rec_path = clip_paths(out, sid, v["variant"], container)
    if os.path.exists(rec_path):
        return json.load(open(rec_path))
    mpath = os.path.join(out, master_rec["path"])
    rate, bits = master_rec["rate"], master_rec["bits"]
    tmp = tempfile.mkdtemp(prefix="v-", dir=os.path.join(out, "tmp"))
    facts = {}
    try:
        kind = v["kind"]
        src16 = os.path.join(tmp, "src.wav")
        part = audio.tmpname(path)
        # re-dithered (decoder diversity): a gain change, then sox's noise-shaped dither to 16 bits
        rd = v.get("redither")
        rd_fx = ["gain", "%g" % rd["gain_db"], "dither", "-f", rd["filter"]] if rd else []
        if kind in ("genuine", "bandlimited") and rd and not v.get("filter"):
            # the master re-dithered (kind: the master's own)
            _sox(mpath, "-b", "16", part, *rd_fx)
            facts.update(label="lossless", redither=rd)
        elif kind == "bandlimited":
            f = v["filter_hz"]
            out_args = [part] if not rd else ["-b", "16", part]
            if v["filter"] == "lowpass2":     # 2-pole (12 dB/oct), -3 dB at f
                _sox(mpath, *out_args, "lowpass", "-2", str(f), *rd_fx)
            elif v["filter"] == "lowpass4":   # two cascaded 2-pole sections (24 dB/oct)
                _sox(mpath, *out_args, "lowpass", "-2", str(f), "lowpass", "-2", str(f), *rd_fx)
            else:                             # windowed sinc, -6 dB at f, 6 kHz wide transition
                _sox(mpath, *out_args, "sinc", "-a", "60", "-t", "6000", "-%d" % f, *rd_fx)
            facts.update(label="lossless", filter="%s@%d" % (v["filter"], f), filter_hz=f, redither=rd)

        elif kind == "lossy":
            _sox(mpath, "-b", "16", src16)
            dec = os.path.join(tmp, "dec.wav")
            facts.update(_lossy_facts(codecs.round_trip(src16, dec, v["cfg"], rate, tmp), v["cfg"],
                                      master_rec["duration_s"]))
            _sox("-D", dec, part)
            facts.update(label="lossy", grid=v.get("grid"))
        elif kind == "chain":
            _sox(mpath, "-b", "16", src16)
            cur = src16
            steps = []
            for k, c in enumerate(v["chain"]):
                dec = os.path.join(tmp, "dec%d.wav" % k)
                st = os.path.join(tmp, "st%d" % k)
                os.makedirs(st)
                fx = codecs.round_trip(cur, dec, c, rate, st)
                steps.append(dict(_lossy_facts(fx, c, master_rec["duration_s"]), name=codecs.describe(c)))
                cur = dec
            _sox("-D", cur, part)
            last = steps[-1]
            facts.update(label="lossy", chain=steps, codec=last["codec"], mode=last["mode"],
                         bitrate_kbps=last["bitrate_kbps"], vbr_quality=last["vbr_quality"],
                         encoded_kbps=last["encoded_kbps"],
                         cutoff_requested_hz=min([s["cutoff_requested_hz"] for s in steps
                                                  if s["cutoff_requested_hz"]] or [None]) if any(
                                                      s["cutoff_requested_hz"] for s in steps) else None,
                         cutoff_method="chain")
        elif kind == "upsampled":
            _write_upsampled(mpath, part, v["method"], v, sid, tmp)
            facts.update(label="lossless", upsampled=True, padded=bool(v.get("requant16")),
                         pad_dither=False if v.get("requant16") else None,
                         orig_rate=rate, orig_bits=bits, filter="upsample:" + v["method"])
        elif kind == "padded":
            x = audio.read(mpath)
            ints = np.round(x.astype(np.float64) * 2 ** (bits - 1)).astype(np.int64)   # exact
            pb = v["pad_bits"]
            if v["pad_dither"]:
                # the 16-bit values moved up, plus +-1 LSB TPDF dither at the new depth:
                # still 16 bits of information, with noise in the low bits
                rng = np.random.default_rng(sources.seed_of(sid + "paddither"))
                w = (ints << (pb - bits)) + rng.integers(0, 2, ints.shape) - rng.integers(0, 2, ints.shape)
                audio.write_int(part, np.clip(w, -2 ** (pb - 1), 2 ** (pb - 1) - 1), rate, pb)
            else:
                audio.write_int(part, ints, rate, bits, pb)
            facts.update(label="lossless", padded=True, pad_dither=v["pad_dither"], orig_bits=bits)
        elif kind in ("lossy_upsampled", "lossy_padded"):
            via = v.get("via_rate", rate)
            if via != rate:
                _sox(mpath, "-b", "16", src16, "rate", "-v", str(via))
            else:
                _sox(mpath, "-b", "16", src16)
            dec = os.path.join(tmp, "dec.wav")
            facts.update(_lossy_facts(codecs.round_trip(src16, dec, v["cfg"], via, tmp), v["cfg"],
                                      master_rec["duration_s"]))
            facts.update(label="lossy", orig_rate=rate, orig_bits=bits)
            if kind == "lossy_padded":
                x = audio.read(dec)
                ints = np.round(x.astype(np.float64) * 2 ** 15).astype(np.int64)
                audio.write_int(part, ints, via, 16, v["pad_bits"])
                facts.update(padded=True, pad_dither=False)
            else:
                _write_upsampled(dec, part, "sox-vhq", v, sid, tmp)
                facts.update(upsampled=True, padded=bool(v.get("requant16")),
                             pad_dither=False if v.get("requant16") else None,
                             via_rate=via)
        elif kind == "spliced":
            facts.update(_splice(mpath, part, master_rec, v, tmp))
        else:
            raise ValueError(kind)
        os.replace(part, path)
        m, spec_out = audio.measure(path)
        rec = base_record(out, path, spec, split, m)
        rec.update(facts)
        rec.update(kind=kind, variant=v["variant"], source_bandwidth_hz=master_rec["bandwidth_hz"])
        if (rec["label"] == "lossy" or kind == "bandlimited") and kind != "spliced":
            z = np.load(os.path.join(out, "spectra", sid + ".npz"))
            cut, obs = audio.measured_cutoff((z["f"], z["s"]), spec_out)
            rec["measured_cutoff_hz"], rec["cutoff_observable"] = cut, obs
        write_json_atomic(rec_path, rec)
        return rec
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# Leading samples to drop from each decoder's output so that it lines up with its input.
# All 0 with Debian 12's tools: `lame --decode` reads the LAME tag's encoder delay and
# padding and removes them, ffmpeg applies the MP4 edit list of its AAC encoder (priming),
# oggdec and opusdec honour the granule positions / pre-skip, and sox `rate -v` (Opus back
# to 44.1 kHz) is linear-phase with its delay compensated.  What is left is padding at the
# end (ffmpeg's AAC: up to one frame), cut to the master's length.  _check_alignment
# measures the result and stops the build if a tool ever behaves otherwise.
DECODER_LEAD = {"mp3": 0, "aac": 0, "vorbis": 0, "opus": 0}
ALIGN_SEARCH = 8192          # samples searched either way for the cross-correlation peak
ALIGN_MAX_RESIDUAL_DB = -10.0   # passage residual (decoded - master) re the master, at most
ALIGN_MIN_MARGIN_DB = 1.0    # ... and at least this much below the residual one sample off


def _ints16(path):
    x = audio.read(path).astype(np.float64)
    return np.round(x * 32768.0).astype(np.int64)


def _residual_db(x, y):
    e = float(np.sum(x.astype(np.float64) ** 2))
    r = float(np.sum((y.astype(np.float64) - x) ** 2))
    return 10.0 * np.log10(max(r, 1e-20) / max(e, 1e-20))


def _check_alignment(x, y, a, b, what):
    """x: master, y: decoded (frames, channels) ints of the same shape; [a, b) the passage.
    Alignment: (1) the cross-correlation of the mono sums peaks at lag 0 (searched over
    +-ALIGN_SEARCH samples); (2) over the passage, the residual y - x relative to x is at
    most ALIGN_MAX_RESIDUAL_DB and at least ALIGN_MIN_MARGIN_DB below the residual with y
    one sample early or late.  Raises when either fails; returns the figures."""
    xm = x.astype(np.float64).mean(1)
    ym = y.astype(np.float64).mean(1)
    n = 1 << int(np.ceil(np.log2(2 * len(xm))))
    cc = np.fft.irfft(np.fft.rfft(ym, n) * np.conj(np.fft.rfft(xm, n)), n)
    lags = np.r_[0:ALIGN_SEARCH + 1, -ALIGN_SEARCH:0]
    lag = int(lags[int(np.argmax(cc[lags]))])
    r0 = _residual_db(x[a:b], y[a:b])
    r1 = min(_residual_db(x[a:b], y[a + 1:b + 1]), _residual_db(x[a:b], y[a - 1:b - 1]))
    fig = {"lag_samples": lag, "residual_db": round(r0, 2), "residual_off_by_one_db": round(r1, 2)}
    if lag != 0 or r0 > ALIGN_MAX_RESIDUAL_DB or r1 - r0 < ALIGN_MIN_MARGIN_DB:
        raise RuntimeError("spliced %s: decoded audio not aligned with the master: %s "
                           "(need lag 0, residual <= %g dB, >= %g dB below one sample off)" % (
                               what, fig, ALIGN_MAX_RESIDUAL_DB, ALIGN_MIN_MARGIN_DB))
    return fig


def _splice(mpath, part, master_rec, v, tmp):
    """Round-trip the whole master through v["cfg"], align the decode with the master, and
    write the master with [splice_start_s, splice_end_s) taken from the decode.  Samples
    outside the passage are the master's, bit for bit."""
    rate, cfg = master_rec["rate"], v["cfg"]
    if master_rec["bits"] != 16:
        raise ValueError("spliced clips need a 16-bit master")
    src16 = os.path.join(tmp, "src.wav")
    _sox(mpath, "-b", "16", src16)
    dec = os.path.join(tmp, "dec.wav")
    fx = codecs.round_trip(src16, dec, cfg, rate, tmp)
    x = _ints16(src16)
    y = _ints16(dec)[DECODER_LEAD[cfg["codec"]]:]
    if y.shape[1] != x.shape[1] or len(y) < len(x):
        raise RuntimeError("spliced %s: decode has shape %s, master %s" % (v["variant"], y.shape, x.shape))
    y = y[:len(x)]
    a = int(round(v["splice_start_s"] * rate))
    b = int(round(v["splice_end_s"] * rate))
    if not (0 < a < b < len(x)):
        raise ValueError("spliced %s: passage [%d, %d) outside %d frames" % (v["variant"], a, b, len(x)))
    fig = _check_alignment(x, y, a, b, "%s/%s" % (master_rec["source_id"], v["variant"]))
    out = x.copy()
    out[a:b] = y[a:b]
    audio.write_int(part, out, rate, 16)
    # measured_cutoff_hz of a spliced clip: the passage's, against the master's same passage
    f, sx = audio.long_term_spectrum(x[a:b] / 32768.0, rate)
    _, sy = audio.long_term_spectrum(y[a:b] / 32768.0, rate)
    cut, obs = audio.measured_cutoff((f, audio.smooth(sx, rate)), (f, audio.smooth(sy, rate)))
    facts = _lossy_facts(fx, cfg, master_rec["duration_s"])
    facts.update(label="lossy", splice_start_s=v["splice_start_s"], splice_end_s=v["splice_end_s"],
                 splice_start_frame=a, splice_end_frame=b, splice_alignment=fig,
                 measured_cutoff_hz=cut, cutoff_observable=obs)
    return facts


def _lossy_facts(fx, cfg, duration_s):
    cut = cfg.get("cutoff_hz")
    return {"codec": cfg["codec"], "mode": cfg["mode"], "bitrate_kbps": cfg.get("bitrate_kbps"),
            "vbr_quality": cfg.get("vbr_quality"),
            "cutoff_requested_hz": cut if cut else None,
            "cutoff_method": fx["cutoff_method"], "decoder": cfg.get("decoder"),
            "encoded_kbps": round(fx["encoded_bytes"] * 8 / duration_s / 1000.0, 1)}


def _resample(src, dst, method, rate, tmp):
    if method == "sox-vhq":
        _sox(src, "-b", "32", "-e", "floating-point", dst, "rate", "-v", str(rate))
    elif method == "sox-quick":
        _sox(src, "-b", "32", "-e", "floating-point", dst, "rate", "-q", str(rate))
    else:
        af = "aresample=%d" % rate + (":resampler=soxr" if method == "ffmpeg-soxr" else "")
        codecs._run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", src,
                     "-af", af, "-c:a", "pcm_f32le", dst])


# ----------------------------------------------------------------------------- driver
def _safe(fn, *a):
    try:
        return ("ok", fn(*a))
    except Exception:
        return ("error", traceback.format_exc())


def build(out, size, jobs, log=sys.stderr):
    t0 = time.time()
    for d in ("clips", "spectra"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    shutil.rmtree(os.path.join(out, "tmp"), ignore_errors=True)
    os.makedirs(os.path.join(out, "tmp"))
    # leftovers of an interrupted run: half-written audio/records under temporary names
    for dp, _, fns in os.walk(os.path.join(out, "clips")):
        for fn in fns:
            if fn.startswith(".") and ".part" in fn:
                os.unlink(os.path.join(dp, fn))
    specs = plan_sources(size)
    splits = split_of_sources([s["id"] for s in specs])
    failures = []
    masters = {}
    print("corpus: %d sources, size %s, %d jobs -> %s" % (len(specs), size, jobs, out), file=log)
    with cf.ProcessPoolExecutor(max_workers=jobs) as ex:
        futs = {ex.submit(_safe, job_master, out, s, splits[s["id"]]): s for s in specs}
        for i, fu in enumerate(cf.as_completed(futs)):
            s = futs[fu]
            st, res = fu.result()
            if st == "ok":
                masters[s["id"]] = res
            else:
                failures.append({"clip": s["id"] + "/master", "error": res})
                print("corpus: FAILED %s/master\n%s" % (s["id"], res), file=log)
        print("corpus: masters done (%d ok, %d skipped, %d failed) in %.0f s" % (
            sum(1 for r in masters.values() if not r.get("skipped")),
            sum(1 for r in masters.values() if r.get("skipped")), len(failures), time.time() - t0),
            file=log)
        good = [s for s in specs if s["id"] in masters and not masters[s["id"]].get("skipped")]
        members = {}
        for s in sorted(good, key=lambda s: hashlib.sha256(s["id"].encode()).hexdigest()):
            m = masters[s["id"]]
            if m["rate"] == 44100 and m["channels"] == 2:
                members.setdefault(splits[s["id"]], []).append(s["id"])
        plan = []
        for s in good:
            for v in plan_variants(s, masters[s["id"]], members.get(splits[s["id"]], []), size):
                plan.append((s, v))
        plan += plan_spliced(good, masters, splits, size)
        futs = {ex.submit(_safe, job_variant, out, s, splits[s["id"]], masters[s["id"]], v): (s, v)
                for s, v in plan}
        recs = {}
        done = 0
        for fu in cf.as_completed(futs):
            s, v = futs[fu]
            st, res = fu.result()
            done += 1
            if st == "ok":
                recs[(s["id"], v["variant"])] = res
            else:
                failures.append({"clip": "%s/%s" % (s["id"], v["variant"]), "error": res})
                print("corpus: FAILED %s/%s\n%s" % (s["id"], v["variant"], res), file=log)
            if done % 100 == 0:
                print("corpus: %d/%d variants (%.0f s)" % (done, len(plan), time.time() - t0), file=log)
    # manifest in plan order
    tmp = audio.tmpname(os.path.join(out, "manifest.jsonl"))
    n = 0
    with open(tmp, "w") as f:
        for s in specs:
            m = masters.get(s["id"])
            if not m or m.get("skipped"):
                continue
            f.write(json.dumps(m, sort_keys=True) + "\n")
            n += 1
            for s2, v in plan:
                if s2["id"] == s["id"] and (s["id"], v["variant"]) in recs:
                    f.write(json.dumps(recs[(s["id"], v["variant"])], sort_keys=True) + "\n")
                    n += 1
    os.replace(tmp, os.path.join(out, "manifest.jsonl"))
    shutil.rmtree(os.path.join(out, "tmp"), ignore_errors=True)
    info = {"size": size, "generator_version": VERSION, "clips": n, "failures": failures,
            "skipped_sources": [m for m in masters.values() if m.get("skipped")],
            "elapsed_s": round(time.time() - t0, 1), "jobs": jobs, "tools": tool_versions()}
    write_json_atomic(os.path.join(out, "build.json"), info)
    print("corpus: %d clips, %d failures, %.0f s; manifest %s" % (
        n, len(failures), time.time() - t0, os.path.join(out, "manifest.jsonl")), file=log)
    return 0 if not failures else 1


def tool_versions():
    out = {}
    for pkg in ("sox", "ffmpeg", "lame", "vorbis-tools", "opus-tools", "twolame", "fluidsynth",
                "fluid-soundfont-gm", "timgm6mb-soundfont", "mma", "espeak-ng", "hydrogen-data",
                "supercollider-common", "flac"):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
        out[pkg] = r.stdout.strip() if r.returncode == 0 else None
    return out
