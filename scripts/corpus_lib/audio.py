"""Audio I/O through sox pipes, exact integer writing, and spectral measurements.

DSP conventions (used for every number written to the manifest):

* Long-term spectrum: mono power average over channels; Hann window of N samples,
  N = 4096 at <= 48 kHz, 8192 at 88.2/96 kHz, 16384 at 176.4/192 kHz (bins of
  10.8-11.7 Hz); hop N/2; power averaged over all frames.  Each bin is normalised by
  sum(w^2), so white noise of variance s^2 reads s^2 in every bin.
* Levels are dB re full scale (samples in [-1, 1)).
* Q16 = 10*log10(q^2/12), q = 2^-15: the per-bin level of 16-bit rounding noise
  (-101.1 dB).  It is the fixed reference for "above the noise floor", whatever the
  container depth, so that a 16-bit file and its 24-bit padded copy measure the same.
* Smoothing: running median over ~1% of Nyquist (at least 5 bins).
* bandwidth_hz: the highest frequency at which the smoothed long-term spectrum is at
  least BW_MARGIN_DB (12 dB) above Q16 (TPDF dither alone sits at Q16 + 4.8 dB, two
  generations of it at + 7.8 dB: dithered silence does not count as bandwidth).  Quiet material measures narrower:
  this is the bandwidth a detector can see, not the bandwidth of the instrument.
* measured_cutoff_hz (lossy and filtered files, compared with the lossless file they
  were made from).  "Valid" bins: where the source's smoothed level is at least
  BW_MARGIN_DB + CUT_DROP_DB (27 dB) above Q16, so a drop can be seen.  A valid bin is
  "cut" when the file is more than CUT_DROP_DB (15 dB) below the source there; bins
  above 0.95 Nyquist are ignored (resampler and anti-alias territory).  The measured
  cutoff is the lowest valid frequency above which at least CUT_FRACTION (90%)
  of the valid bins are cut (and at least 500 Hz of valid bins remain).  Where no such
  frequency exists the cutoff is not observable on this material: cutoff_observable =
  false and measured_cutoff_hz = the source's highest valid frequency.  (A fraction, not
  "every bin", because codecs fill bands with noise: Vorbis at low q keeps the band
  above its low-pass only ~20 dB down, AAC's noise substitution puts noise back.)
* edge_drop_db: smoothed level 0.2-1 kHz below bandwidth_hz minus the level 0.2-1 kHz
  above it; a brick-wall (lossy or resampler) edge gives > ~25 dB, a natural roll-off
  much less.
"""

import os
import subprocess

import numpy as np

Q16_DB = 10.0 * np.log10((2.0 ** -15) ** 2 / 12.0)
BW_MARGIN_DB = 12.0
CUT_DROP_DB = 15.0
CUT_FRACTION = 0.9


def soxi(path):
    """(rate, channels, frames, bits) of an audio file, via soxi."""
    out = subprocess.run(["soxi", "-r", path], capture_output=True, text=True, check=True).stdout
    rate = int(float(out.strip()))
    ch = int(subprocess.run(["soxi", "-c", path], capture_output=True, text=True, check=True).stdout)
    frames = int(subprocess.run(["soxi", "-s", path], capture_output=True, text=True, check=True).stdout)
    bits = int(subprocess.run(["soxi", "-b", path], capture_output=True, text=True, check=True).stdout)
    return rate, ch, frames, bits


def read(path, rate=None, mono=False):
    """Decode any file sox reads into float32 (frames, channels); optional resample and
    mono down-mix (mean of channels)."""
    ch = 1 if mono else soxi(path)[1]
    cmd = ["sox", "-R", "-D", path, "-t", "raw", "-e", "floating-point", "-b", "32", "-"]
    if mono:
        cmd += ["remix", "-"]
    if rate is not None:
        cmd += ["rate", "-v", str(rate)]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    x = np.frombuffer(raw, dtype="<f4")
    return x.reshape(-1, ch)


def quantize(x, bits, rng, dither=True):
    """float (-1..1) -> int64 at `bits`, TPDF dither of +-1 LSB from a seeded generator."""
    scale = float(2 ** (bits - 1))
    y = x.astype(np.float64) * scale
    if dither:
        y = y + rng.random(y.shape) - rng.random(y.shape)
    y = np.round(y)
    return np.clip(y, -scale, scale - 1).astype(np.int64)


def write_int(path, ints, rate, bits, container_bits=None):
    """Write integer samples exactly.  `ints` holds values at `bits` resolution; they are
    stored in a container of `container_bits` (>= bits) by shifting left, i.e. the low
    bits are zero (padding).  Container chosen from the file extension by sox.
    Written to a temporary name and renamed."""
    cb = container_bits or bits
    v = (ints.astype(np.int64) << (32 - bits)).astype("<i4")   # as 32-bit words
    tmp = tmpname(path)
    cmd = ["sox", "-R", "-D", "-t", "raw", "-e", "signed-integer", "-b", "32",
           "-r", str(rate), "-c", str(v.shape[1]), "-", "-b", str(cb), tmp]
    subprocess.run(cmd, input=v.tobytes(), check=True, capture_output=True)
    os.replace(tmp, path)


def tmpname(path):
    d, b = os.path.split(path)
    stem, ext = os.path.splitext(b)
    return os.path.join(d, ".%s.part%d%s" % (stem, os.getpid(), ext))


def nfft_for(rate):
    if rate <= 50000:
        return 4096
    if rate <= 100000:
        return 8192
    return 16384


def long_term_spectrum(x, rate):
    """(freqs, level_db) per the conventions in the module docstring."""
    n = nfft_for(rate)
    if x.ndim == 1:
        x = x[:, None]
    w = np.hanning(n).astype(np.float32)
    norm = float(np.sum(w.astype(np.float64) ** 2))
    hop = n // 2
    acc = np.zeros(n // 2 + 1)
    count = 0
    frames = x.shape[0]
    if frames < n:
        x = np.vstack([x, np.zeros((n - frames, x.shape[1]), dtype=x.dtype)])
        frames = n
    starts = np.arange(0, frames - n + 1, hop)
    for c in range(x.shape[1]):
        col = np.ascontiguousarray(x[:, c], dtype=np.float32)
        for i in range(0, len(starts), 256):
            idx = starts[i:i + 256][:, None] + np.arange(n)[None, :]
            seg = col[idx] * w
            spec = np.fft.rfft(seg, axis=1)
            acc += np.sum(spec.real ** 2 + spec.imag ** 2, axis=0)
            count += seg.shape[0]
    p = acc / max(count, 1) / norm
    freqs = np.arange(n // 2 + 1) * rate / n
    return freqs, 10.0 * np.log10(np.maximum(p, 1e-30))


def smooth(db, rate):
    n = len(db)
    k = max(5, int(round(n * 0.01)) | 1)
    pad = k // 2
    padded = np.concatenate([np.full(pad, db[0]), db, np.full(pad, db[-1])])
    # running median via strided view
    view = np.lib.stride_tricks.sliding_window_view(padded, k)
    return np.median(view, axis=1)


def bandwidth(freqs, sdb):
    thr = Q16_DB + BW_MARGIN_DB
    above = np.nonzero(sdb[1:] >= thr)[0]
    if len(above) == 0:
        return 0.0
    return float(freqs[1 + above[-1]])


def edge_drop(freqs, sdb, f):
    lo = sdb[(freqs >= f - 1000) & (freqs <= f - 200)]
    hi = sdb[(freqs >= f + 200) & (freqs <= f + 1000)]
    if len(lo) == 0 or len(hi) == 0:
        return None
    return float(np.median(lo) - np.median(hi))


def measure(path):
    """Measurements of one file: format plus spectral numbers (see module docstring)."""
    rate, ch, frames, bits = soxi(path)
    x = read(path)
    freqs, db = long_term_spectrum(x, rate)
    sdb = smooth(db, rate)
    bw = bandwidth(freqs, sdb)
    nyq = rate / 2.0
    top = sdb[(freqs >= 0.90 * nyq) & (freqs <= 0.98 * nyq)]
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0
    return {
        "rate": rate, "channels": ch, "bits": bits, "frames": frames,
        "duration_s": round(frames / rate, 4),
        "bandwidth_hz": round(bw, 1),
        "edge_drop_db": _r(edge_drop(freqs, sdb, bw)) if 0 < bw < nyq - 1100 else None,
        "hf_level_db": _r(float(np.median(top)) - Q16_DB) if len(top) else None,
        "peak_dbfs": _r(20 * np.log10(max(peak, 1e-12))),
        "rms_dbfs": _r(20 * np.log10(max(rms, 1e-12))),
    }, (freqs, sdb)


def measured_cutoff(src_spec, out_spec):
    """Cutoff of a lossy file relative to its source (module docstring).  Both spectra at
    the same rate.  Returns (cutoff_hz, observable)."""
    f, s = src_spec
    f2, o = out_spec
    if len(f) != len(f2) or not np.allclose(f[-1], f2[-1]):
        o = np.interp(f, f2, o, right=-300.0)   # different rates: source's grid
    valid = (s >= Q16_DB + BW_MARGIN_DB + CUT_DROP_DB) & (f > 1000) & (f <= 0.95 * f[-1])
    idx = np.nonzero(valid)[0]
    if len(idx) == 0:
        return None, False
    cut_mask = (s - o) > CUT_DROP_DB
    binw = f[1] - f[0]
    min_bins = int(500 / binw)
    # fraction of valid bins above each candidate that are cut, computed from the top down
    vc = np.cumsum(valid[::-1])[::-1]
    cc = np.cumsum((valid & cut_mask)[::-1])[::-1]
    for i in idx:
        if vc[i] < min_bins:
            break
        if cc[i] >= CUT_FRACTION * vc[i]:
            return round(float(f[i]), 1), True
    return round(float(f[idx[-1]]), 1), False


def _r(v, nd=2):
    return None if v is None else round(float(v), nd)
