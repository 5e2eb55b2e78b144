"""Genuine lossless material, rendered from Debian-shipped data.

Source types
  midi     a MIDI file shipped in Debian (mma examples and pattern libraries), rendered
           with fluidsynth through an .sf2 font (never .sf3: those are Ogg inside)
  mma      a MIDI file made by mma (Musical MIDI Accompaniment, Debian `mma`) from one of
           its shipped groove styles and a chord chart drawn from a seeded generator
  melody   a solo instrument line (one General MIDI program) written here as MIDI from a
           seeded generator and rendered with fluidsynth; a third of them are quiet
  mix      a multi-layer mix made in numpy: recorded drum samples from Debian's hydrogen
           kits, additive/Karplus-Strong/FM/noise synthesis up to Nyquist, optional
           speech (espeak-ng, or the recorded SuperCollider speech sample); any rate,
           including 88.2/96 kHz 24-bit
  speech   a speech-led mix: espeak-ng or recorded speech over a soft synthetic bed
All randomness comes from numpy Generators seeded from the source id.
"""

import glob
import hashlib
import os
import resource
import struct
import subprocess

import numpy as np
from scipy import signal

from . import audio

SF2_DIRS = ["/usr/share/sounds/sf2", "/usr/share/soundfonts"]
FONTS = ["FluidR3_GM.sf2", "TimGM6mb.sf2"]          # required (see corpus-packages)
KITS = {"rock": "/usr/share/hydrogen/data/drumkits/GMRockKit",
        "808": "/usr/share/hydrogen/data/drumkits/TR808EmulationKit"}
SPEECH_SAMPLE = "/usr/share/SuperCollider/sounds/a11wlk01.wav"  # 44.1 kHz, full band
MIDI_GLOBS = ["/usr/share/doc/mma/examples/**/*.mid", "/usr/share/mma/lib/**/*.mid"]
MMA_STDLIB = "/usr/share/mma/lib/stdlib"


def seed_of(text):
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def font_path(name):
    for d in SF2_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(name)


def shipped_midis():
    out = set()
    for g in MIDI_GLOBS:
        out.update(glob.glob(g, recursive=True))
    return sorted(out)


def mma_grooves():
    names = []
    for f in sorted(glob.glob(os.path.join(MMA_STDLIB, "*.mma"))):
        with open(f, errors="replace") as fh:
            for line in fh:
                t = line.split()
                if len(t) >= 2 and t[0].lower() == "defgroove":
                    n = t[1]
                    if not any(k in n.lower() for k in ("intro", "end", "fill", "sus", "metronome")):
                        names.append(n)
    return sorted(set(names))


# --------------------------------------------------------------------------- MIDI
def _vlq(n):
    b = [n & 0x7F]
    n >>= 7
    while n:
        b.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(b))


def write_midi(path, events, tempo_bpm, ppq=480):
    """events: list of (tick, bytes).  Format 0, one track; note-offs always present."""
    events = sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80))
    data = bytearray()
    data += b"\x00\xFF\x51\x03" + int(60e6 / tempo_bpm).to_bytes(3, "big")
    last = 0
    for t, msg in events:
        data += _vlq(t - last) + msg
        last = t
    data += b"\x00\xFF\x2F\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, ppq))
        f.write(b"MTrk" + struct.pack(">I", len(data)) + data)


SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10],
          "dorian": [0, 2, 3, 5, 7, 9, 10], "penta": [0, 2, 4, 7, 9]}
SOLO_PROGRAMS = [0, 4, 6, 11, 19, 21, 24, 25, 40, 41, 42, 56, 57, 60, 65, 68, 71, 73, 74, 75,
                 79, 104, 105, 108]


def melody_midi(path, rng, duration_s, program, quiet):
    tempo = float(rng.uniform(60, 130))
    ppq = 480
    scale = SCALES[list(SCALES)[rng.integers(len(SCALES))]]
    root = 48 + int(rng.integers(0, 12)) + (12 if program in (56, 60, 65, 68, 71, 73, 74, 75, 79) else 0)
    ev = [(0, bytes([0xC0, program]))]
    t = 0
    total = int(duration_s * tempo / 60 * ppq) + ppq
    deg = 7
    vel_base = 35 if quiet else 90
    while t < total:
        dur = int(rng.choice([0.5, 1, 1, 1, 1.5, 2, 3]) * ppq / (2 if rng.random() < 0.3 else 1))
        deg = int(np.clip(deg + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), 0, 2 * len(scale)))
        note = root + 12 * (deg // len(scale)) + scale[deg % len(scale)]
        vel = int(np.clip(vel_base + rng.normal(0, 10), 10, 127))
        if rng.random() < 0.12:       # rest
            t += dur
            continue
        ev.append((t, bytes([0x90, note, vel])))
        ev.append((t + int(dur * 0.95), bytes([0x80, note, 0])))
        t += dur
    write_midi(path, ev, tempo, ppq)


def mma_midi(path, rng, groove, bars, tmp):
    prog = [["C", "Am", "F", "G7"], ["Dm7", "G7", "Cmaj7", "A7"], ["Am", "F", "C", "G"],
            ["C", "C7", "F", "Fm"], ["Em", "C", "G", "D"], ["Gm", "Eb", "Bb", "F"],
            ["A", "E", "F#m", "D"], ["Cm", "Ab", "Bb", "G7"]]
    p = prog[rng.integers(len(prog))]
    shift = ["", "Transpose 2", "Transpose -3", "Transpose 5", "Transpose -1"][rng.integers(5)]
    tempo = int(rng.integers(75, 150))
    src = os.path.join(tmp, "song.mma")
    with open(src, "w") as f:
        # mma randomises timing/velocity with Python's random: seed it, or runs differ
        f.write("RndSeed %d\nTempo %d\n%s\nGroove %s\n" % (int(rng.integers(1, 2 ** 31)), tempo, shift, groove))
        for b in range(bars):
            f.write("%d %s\n" % (b + 1, p[b % len(p)]))
    env = dict(os.environ, PYTHONHASHSEED="0")
    r = subprocess.run(["mma", "-f", path, src], capture_output=True, text=True, timeout=60, env=env)
    if r.returncode != 0 or not os.path.exists(path):
        raise RuntimeError("mma failed for groove %s: %s" % (groove, r.stdout[-500:] + r.stderr[-500:]))


def _limit_output():
    # fluidsynth can run for ever on a MIDI file that leaves notes on: bound the file size
    resource.setrlimit(resource.RLIMIT_FSIZE, (400 << 20, 400 << 20))


def fluidsynth(midi, font, rate, out_wav, timeout_s=240):
    cmd = ["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(rate), "-T", "wav", "-O", "s16",
           "-F", out_wav, font, midi]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout_s,
                       preexec_fn=_limit_output)
    if r.returncode != 0 or not os.path.exists(out_wav):
        raise RuntimeError("fluidsynth failed on %s: %s" % (midi, r.stderr.decode()[-500:]))


def pick_window(x, rate, duration_s, rng):
    """Skip leading silence, then take duration_s (or what there is)."""
    env = np.max(np.abs(x), axis=1)
    on = np.nonzero(env > 10 ** (-50 / 20))[0]
    if len(on) == 0:
        return x[:0]
    start = int(on[0])
    avail = len(x) - start - int(0.5 * rate)
    n = int(duration_s * rate)
    if avail > n + 4 * rate:
        start += int(rng.integers(0, min(avail - n, 20 * rate)))
    return x[start:start + n]


def finish(x, rate, rng, spec):
    """Channels, level and fades of a master; float out."""
    if spec["channels"] == 1:
        x = x.mean(axis=1, keepdims=True)
    elif x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    fade = min(int(0.05 * rate), len(x) // 4)
    if fade:
        ramp = np.linspace(0, 1, fade)[:, None]
        x = x.copy()
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    peak = float(np.max(np.abs(x))) or 1.0
    level = spec.get("level", "normal")
    if level == "quiet":
        target = 10 ** (rng.uniform(-30, -22) / 20)     # peak -30..-22 dBFS
        x = x / peak * target
    elif level == "loud":
        g = 10 ** (rng.uniform(6, 12) / 20)               # drive into a soft clipper
        x = np.tanh(x / peak * g) / np.tanh(g) * 0.97
    else:
        x = x / peak * 10 ** (rng.uniform(-6, -1) / 20)
    return x


# --------------------------------------------------------------------------- synthesis
def _env(n, rate, a, d, sustain=0.0):
    t = np.arange(n) / rate
    e = np.minimum(1.0, t / max(a, 1e-4)) * (sustain + (1 - sustain) * np.exp(-t / max(d, 1e-4)))
    return e


def additive(f0, n, rate, kind, rng):
    """Band-limited saw/square with every harmonic up to 0.98 Nyquist (so the top octave
    is really there): one period built by inverse FFT, read with linear interpolation
    from a table oversampled >= 16x relative to the highest harmonic."""
    kmax = max(1, int(0.98 * rate / 2 / f0))
    size = 1 << int(np.ceil(np.log2(max(2048, 16 * kmax))))
    spec = np.zeros(size // 2 + 1, dtype=complex)
    ks = np.arange(1, kmax + 1)
    if kind == "square":
        ks = ks[ks % 2 == 1]
    ph = rng.uniform(0, 2 * np.pi, len(ks))
    spec[ks] = (1.0 / ks) * np.exp(1j * ph) * size / 2
    table = np.fft.irfft(spec, size)
    table = np.append(table, table[0])
    pos = (np.arange(n) * (f0 * size / rate)) % size
    i = pos.astype(np.int64)
    frac = pos - i
    return table[i] * (1 - frac) + table[i + 1] * frac


def pluck(f0, n, rate, rng, decay=0.996):
    L = max(2, int(rate / f0))
    exc = np.zeros(n)
    exc[:L] = rng.uniform(-1, 1, L)
    a = np.zeros(L + 2)
    a[0] = 1.0
    a[L] = -decay / 2
    a[L + 1] = -decay / 2
    return signal.lfilter([1.0], a, exc)


def fm_bell(f0, n, rate, rng):
    t = np.arange(n) / rate
    ratio = rng.choice([1.4, 2.0, 3.5, 1.41])
    idx = 6 * np.exp(-t * 3)
    return np.sin(2 * np.pi * f0 * t + idx * np.sin(2 * np.pi * f0 * ratio * t)) * np.exp(-t * 2.5)


def noise_hat(n, rate, rng, open_hat):
    x = rng.standard_normal(n)
    b, a = signal.butter(2, min(7000 / (rate / 2), 0.9), "high")
    x = signal.lfilter(b, a, x)
    return x * np.exp(-np.arange(n) / rate / (0.25 if open_hat else 0.04))


def load_sample(path, rate):
    return audio.read(path, rate=rate, mono=True)[:, 0].astype(np.float64)


def espeak(text, voice, speed, pitch, rate, tmp):
    w = os.path.join(tmp, "speech.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", w, text],
                   check=True, capture_output=True, timeout=60)
    return load_sample(w, rate)


WORDS = ("river light morning signal quiet number window silver garden paper winter "
         "music station yellow distant table thunder pocket orange simple moment hollow "
         "circle engine feather market little bright stone ocean whisper").split()
VOICES = ["en", "en-us", "en-gb-x-rp", "de", "fr", "es", "it", "nl", "sv", "pt", "pl", "fi"]


def _place(buf, x, start, gain, pan):
    end = min(len(buf), start + len(x))
    if end <= start:
        return
    seg = x[:end - start] * gain
    buf[start:end, 0] += seg * np.cos(pan * np.pi / 2)
    buf[start:end, 1] += seg * np.sin(pan * np.pi / 2)


PATTERNS = [  # 16 steps: kick, snare, hat
    ("x...x...x...x...", "....x.......x...", "x.x.x.x.x.x.x.x."),
    ("x.....x...x.....", "....x.......x..x", "xxxxxxxxxxxxxxxx"),
    ("x..x..x...x..x..", "....x.......x...", "..x...x...x...x."),
    ("x.......x.x.....", "....x..x....x...", "x.xxx.xxx.xxx.xx"),
]


def synth_mix(spec, tmp):
    rng = np.random.default_rng(seed_of(spec["id"]))
    rate, dur = spec["rate"], spec["duration_s"]
    n = int(rate * dur)
    buf = np.zeros((n, 2))
    tempo = rng.uniform(78, 150)
    step = 60.0 / tempo / 4
    root = 36 + int(rng.integers(0, 12))
    prog = [[0, 4, 7], [9, 12, 16], [5, 9, 12], [7, 11, 14]]
    rng.shuffle(prog)
    bar = 16 * step
    layers = spec["layers"]
    hz = lambda m: 440.0 * 2 ** ((m - 69) / 12)
    if "drums" in layers:
        kit = spec["kit"]
        d = KITS[kit]
        if kit == "rock":
            names = {"k": "Kick-Hard.wav", "s": "Snare-Hard.wav", "h": "HatClosed-Med.wav",
                     "c": "Crash-Med.wav", "o": "HatOpen-Med.wav"}
        else:
            names = {"k": "808_Kick_Long.flac", "s": "808_Snare_1.flac", "h": "808_Hat_Closed.flac",
                     "c": "808_Cymbal.flac", "o": "808_Hat_Open.flac"}
        smp = {}
        for k, v in names.items():
            p = os.path.join(d, v)
            if not os.path.exists(p):  # kit file names differ between versions: nearest match
                cand = sorted(glob.glob(os.path.join(d, v.split("-")[0].split("_")[0] + "*")))
                p = cand[0] if cand else None
            if p:
                smp[k] = load_sample(p, rate)
        pat = PATTERNS[rng.integers(len(PATTERNS))]
        t = 0.0
        i = 0
        while t < dur:
            s = i % 16
            for lane, key, g in ((0, "k", 0.9), (1, "s", 0.7), (2, "h", 0.35)):
                if pat[lane][s] == "x" and key in smp:
                    v = g * rng.uniform(0.6, 1.0)
                    _place(buf, smp[key], int((t + rng.normal(0, 0.004)) * rate) if t > 0.01 else 0,
                           v, 0.5 + (0.25 if key == "h" else 0) * rng.uniform(-1, 1))
            if s == 0 and (i // 16) % 4 == 0 and "c" in smp:
                _place(buf, smp["c"], int(t * rate), 0.35, rng.uniform(0.2, 0.8))
            t += step
            i += 1
    if "hats" in layers:
        t = step * 2
        while t < dur:
            op = rng.random() < 0.2
            h = noise_hat(int((0.6 if op else 0.12) * rate), rate, rng, op)
            _place(buf, h, int(t * rate), 0.12 * rng.uniform(0.5, 1), rng.uniform(0.2, 0.8))
            t += step * rng.choice([2, 4])
    if "bass" in layers:
        t, i = 0.0, 0
        while t < dur:
            ch = prog[int(t / bar) % 4]
            f0 = hz(root - 12 + ch[0] + (12 if rng.random() < 0.2 else 0))
            m = int(step * 2 * rate)
            x = pluck(f0, m, rate, rng, 0.993) if spec["bass"] == "pluck" else \
                additive(f0, m, rate, "saw", rng) * _env(m, rate, 0.005, 0.25)
            b, a = signal.butter(2, min(1500 / (rate / 2), 0.9))
            _place(buf, signal.lfilter(b, a, x), int(t * rate), 0.5, 0.5)
            t += step * 2
            i += 1
    if "pad" in layers:
        t = 0.0
        kind = rng.choice(["saw", "square"])
        while t < dur:
            ch = prog[int(t / bar) % 4]
            m = int(bar * rate)
            chord = sum(additive(hz(root + 12 + c) * (1 + rng.normal(0, 0.002)), m, rate, kind, rng)
                        for c in ch) * _env(m, rate, 0.3, 2.0, 0.6)
            fc = rng.uniform(3000, 0.45 * rate)
            b, a = signal.butter(1, min(fc / (rate / 2), 0.95))
            _place(buf, signal.lfilter(b, a, chord), int(t * rate), 0.08, rng.uniform(0.3, 0.7))
            t += bar
    if "pluck" in layers or "bell" in layers:
        t = 0.0
        scale = [0, 2, 4, 7, 9, 12, 14, 16]
        while t < dur:
            note = root + 24 + scale[rng.integers(len(scale))]
            m = int(rng.uniform(0.4, 1.5) * rate)
            x = pluck(hz(note), m, rate, rng) if "pluck" in layers else fm_bell(hz(note), m, rate, rng)
            _place(buf, x, int(t * rate), 0.3, rng.uniform(0.1, 0.9))
            t += step * rng.choice([1, 2, 2, 3, 4])
    if "speech" in layers:
        if spec["speech"] == "espeak":
            words = [WORDS[i] for i in rng.integers(0, len(WORDS), 14)]
            voice = VOICES[rng.integers(len(VOICES))]
            x = espeak(" ".join(words), voice, int(rng.integers(120, 190)), int(rng.integers(20, 80)),
                       rate, tmp)
        else:
            x = load_sample(SPEECH_SAMPLE, rate)
        x = x / (np.max(np.abs(x)) or 1)
        t = rng.uniform(0.2, 2.0)
        while t < dur - 1:
            _place(buf, x, int(t * rate), 0.6, rng.uniform(0.35, 0.65))
            t += len(x) / rate + rng.uniform(1.0, 4.0)
    # a short room: two early reflections + diffuse tail, keeps everything decorrelated
    for dly, g in ((0.013, 0.25), (0.029, 0.18)):
        k = int(dly * rate)
        buf[k:, 0] += g * buf[:-k, 1]
        buf[k:, 1] += g * buf[:-k, 0]
    return buf.astype(np.float32)


# --------------------------------------------------------------------------- render
def render_master(spec, out_path, tmp):
    """Render one source's master (genuine lossless) to out_path.  Returns facts."""
    rng = np.random.default_rng(seed_of(spec["id"]) ^ 0x5A5A)
    rate = spec["rate"]
    facts = {}
    t = spec["type"]
    if t in ("midi", "mma", "melody"):
        if t == "midi":
            midi = spec["midi"]
        else:
            midi = os.path.join(tmp, "gen.mid")
            if t == "mma":
                mma_midi(midi, np.random.default_rng(seed_of(spec["id"])), spec["groove"],
                         spec["bars"], tmp)
            else:
                melody_midi(midi, np.random.default_rng(seed_of(spec["id"])), spec["duration_s"] + 4,
                            spec["program"], spec.get("level") == "quiet")
        wav = os.path.join(tmp, "render.wav")
        fluidsynth(midi, font_path(spec["font"]), rate, wav)
        x = audio.read(wav)
        x = pick_window(x, rate, spec["duration_s"], rng)
    elif t in ("mix", "speech"):
        x = synth_mix(spec, tmp)
    else:
        raise ValueError(t)
    if len(x) < int(spec.get("min_duration_s", 5) * rate):
        raise SkipSource("too short after trimming (%.1f s)" % (len(x) / rate))
    if float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) < 1e-4:
        raise SkipSource("silent render")
    x = finish(x, rate, rng, spec)
    ints = audio.quantize(x, spec["bits"], rng, dither=True)
    audio.write_int(out_path, ints, rate, spec["bits"])
    return facts


class SkipSource(Exception):
    """A source that turned out unusable (too short, silent): recorded, not an error."""
