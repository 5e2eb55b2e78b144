"""Lossy round trips: encode a 16-bit WAV, decode back to a 16-bit WAV at the input rate.

A config is a dict:
  codec         mp3 | mp3shine | aac | vorbis | opus | mp2 | ac3 | eac3 | wmav2
  mode          cbr | vbr | abr
  bitrate_kbps  nominal bitrate (cbr/abr; for vbr the encoder's own target, may be None)
  vbr_quality   lame -V n / oggenc -q n (vbr only)
  cutoff_hz     None = encoder default; 0 = encoder low-pass switched off (only where the
                encoder has a switch); N = low-pass requested at N Hz

How the cutoff is requested (recorded per clip as cutoff_method):
  mp3 (lame)   --lowpass N/1000 (kHz), --lowpass -1 for off; always --resample <input rate>
               so that lame cannot change the rate on its own at low bitrates.
  aac, ac3, eac3 (ffmpeg)  -cutoff N ; off = -cutoff <Nyquist>.
  vorbis (oggenc)  --advanced-encode-option lowpass_frequency=N/1000 (kHz); off = 99.
  opus, mp2 (twolame), mp3shine, wmav2: no low-pass option; the cutoff is applied before
               encoding with a steep sox filter (`sinc -a 120 -t 400 -<N-200>`),
               cutoff_method = "prefilter".  "off" does not exist for them.
"""

import os
import subprocess

NULL = subprocess.DEVNULL


def _run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (
            r.returncode, " ".join(cmd), r.stderr.decode(errors="replace")[-2000:]))
    return r


def ffdec(src, dst, rate):
    _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", src,
          "-vn", "-c:a", "pcm_s16le", "-ar", str(rate), dst])


def ffenc(src, dst, codec, cfg, extra=()):
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", src,
           "-c:a", codec]
    if cfg.get("bitrate_kbps"):
        cmd += ["-b:a", "%dk" % cfg["bitrate_kbps"]]
    cmd += list(extra) + [dst]
    _run(cmd)


def prefilter(src, dst, cutoff_hz):
    _run(["sox", "-R", src, "-b", "16", dst, "sinc", "-a", "120", "-t", "400",
          "-%d" % (cutoff_hz - 200)])


EXT = {"mp3": "mp3", "mp3shine": "mp3", "aac": "m4a", "vorbis": "ogg", "opus": "opus",
       "mp2": "mp2", "ac3": "ac3", "eac3": "eac3", "wmav2": "wma"}
PREFILTER_CODECS = {"opus", "mp2", "mp3shine", "wmav2"}


def round_trip(src_wav, dec_wav, cfg, rate, tmp):
    """Encode src_wav (16-bit, `rate`) with cfg and decode to dec_wav (16-bit, `rate`).
    Returns facts to record: encoder command summary, cutoff_method, encoded size/kbps."""
    codec = cfg["codec"]
    cut = cfg.get("cutoff_hz")
    enc = os.path.join(tmp, "enc." + EXT[codec])
    inp = src_wav
    method = "default" if cut is None else ("off" if cut == 0 else "encoder")
    if cut and codec in PREFILTER_CODECS:
        inp = os.path.join(tmp, "prefiltered.wav")
        prefilter(src_wav, inp, cut)
        method = "prefilter"
    if cut == 0 and codec in PREFILTER_CODECS:
        raise ValueError("codec %s has no low-pass switch" % codec)
    br = cfg.get("bitrate_kbps")
    if codec == "mp3":
        cmd = ["lame", "--quiet", "--noreplaygain", "--resample", "%g" % (rate / 1000.0)]
        if cfg["mode"] == "vbr":
            cmd += ["-V", str(cfg["vbr_quality"])]
        else:
            cmd += ["-b", str(br), "--cbr"]
        if cut == 0:
            cmd += ["--lowpass", "-1"]
        elif cut:
            cmd += ["--lowpass", "%g" % (cut / 1000.0)]
        _run(cmd + [inp, enc])
        _run(["lame", "--quiet", "--decode", enc, os.path.join(tmp, "lamedec.wav")])
        # lame --decode writes the MP3's rate; that is the input rate thanks to --resample
        ffdec(os.path.join(tmp, "lamedec.wav"), dec_wav, rate)
    elif codec == "vorbis":
        cmd = ["oggenc", "-Q"]
        if cfg["mode"] == "vbr":
            cmd += ["-q", str(cfg["vbr_quality"])]
        else:
            cmd += ["-b", str(br)]
        if cut is not None:
            cmd += ["--advanced-encode-option",
                    "lowpass_frequency=%g" % (99 if cut == 0 else cut / 1000.0)]
        _run(cmd + ["-o", enc, inp])
        _run(["oggdec", "-Q", "-b", "16", "-o", os.path.join(tmp, "oggdec.wav"), enc])
        ffdec(os.path.join(tmp, "oggdec.wav"), dec_wav, rate)
    elif codec == "opus":
        _run(["opusenc", "--quiet", "--bitrate", str(br), inp, enc])
        d48 = os.path.join(tmp, "opusdec48.wav")
        _run(["opusdec", "--quiet", "--rate", "48000", enc, d48])
        if rate == 48000:
            _run(["sox", "-R", d48, "-b", "16", dec_wav])
        else:   # Opus is 48 kHz inside: resample back (sox VHQ, dithered to 16 bits)
            _run(["sox", "-R", d48, "-b", "16", dec_wav, "rate", "-v", str(rate)])
    elif codec == "mp2":
        _run(["twolame", "--quiet", "-b", str(br), inp, enc])
        ffdec(enc, dec_wav, rate)
    elif codec in ("aac", "ac3", "eac3"):
        extra = []
        if cut == 0:
            extra = ["-cutoff", str(rate // 2)]
        elif cut:
            extra = ["-cutoff", str(cut)]
        ffenc(inp, enc, codec, cfg, extra)
        ffdec(enc, dec_wav, rate)
    elif codec == "mp3shine":
        ffenc(inp, enc, "libshine", cfg)
        ffdec(enc, dec_wav, rate)
    elif codec == "wmav2":
        ffenc(inp, enc, "wmav2", cfg)
        ffdec(enc, dec_wav, rate)
    else:
        raise ValueError("unknown codec " + codec)
    size = os.path.getsize(enc)
    return {"cutoff_method": method, "encoded_bytes": size}


def describe(cfg):
    """Short stable name of a config, used in clip file names."""
    c = cfg["codec"]
    if cfg["mode"] == "vbr" and cfg.get("vbr_quality") is not None:
        q = ("V%s" if c == "mp3" else "q%s") % cfg["vbr_quality"]
    elif cfg["mode"] == "vbr":
        q = "v%d" % cfg["bitrate_kbps"]
    else:
        q = "%s%d" % ("a" if cfg["mode"] == "abr" else "", cfg["bitrate_kbps"])
    cut = cfg.get("cutoff_hz")
    cs = "def" if cut is None else ("off" if cut == 0 else "lp%d" % (cut // 1000))
    return "%s-%s-%s" % (c, q, cs)
