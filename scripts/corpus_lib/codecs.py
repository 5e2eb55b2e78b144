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
  decoder       None = the codec's usual decoder (below); otherwise one of ALT_DECODERS,
                the way other people's tools decode (see alt_decode)

Usual decoders: lame --decode (mp3), oggdec (vorbis), opusdec --rate 48000 then sox back
to the input rate (opus), ffmpeg for the rest; all to 16 bits.
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
    if cfg.get("decoder"):
        alt_decode(enc, dec_wav, codec, rate, cfg["decoder"], tmp)
    size = os.path.getsize(enc)
    return {"cutoff_method": method, "encoded_bytes": size}


# Other decoder paths (decoder -> codecs it applies to). All write 16 bits at the input rate
# and are deterministic (sox -R seeds its dither; opusdec's dither has a fixed seed).
#   ffmpeg        ffmpeg's decoder, converted to 16 bits without dither (Opus: resampled
#                 from 48 kHz by ffmpeg's swresample)
#   sox           sox's own decoder (libmad for MP3, libvorbis), TPDF dither to 16 bits; an
#                 MP3 keeps its encoder and decoder delay (no LAME-tag trimming)
#   opusdec       `opusdec in.opus out.wav`: the original rate (its own resampler) and its
#                 default noise-shaped dither to 16 bits
#   shaped-F      ffmpeg's decoder to floating point, then sox's noise-shaped dither with
#                 filter F (sox `dither -f F`) to 16 bits, as a player or editor that
#                 dithers on export does
ALT_DECODERS = {"ffmpeg": {"mp3", "aac", "vorbis", "opus"}, "sox": {"mp3", "vorbis"},
                "opusdec": {"opus"}}
SHAPED_FILTERS = {44100: ["lipshitz", "f-weighted", "modified-e-weighted", "improved-e-weighted",
                          "gesemann", "shibata", "low-shibata", "high-shibata"],
                  48000: ["f-weighted", "modified-e-weighted", "improved-e-weighted", "gesemann",
                          "shibata", "low-shibata"]}


def alt_decode(enc, dec_wav, codec, rate, decoder, tmp):
    """Decode enc (made by round_trip) to dec_wav (16 bits, `rate`) the `decoder` way."""
    if decoder.startswith("shaped-"):
        filt = decoder[len("shaped-"):]
        if filt not in SHAPED_FILTERS.get(rate, []) or codec not in ALT_DECODERS["ffmpeg"]:
            raise ValueError("decoder %s: not for %s at %d Hz" % (decoder, codec, rate))
        f32 = os.path.join(tmp, "altdec-f32.wav")
        _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", enc,
              "-vn", "-c:a", "pcm_f32le", "-ar", str(rate), f32])
        _run(["sox", "-R", f32, "-b", "16", dec_wav, "dither", "-f", filt])
        return
    if codec not in ALT_DECODERS.get(decoder, ()):
        raise ValueError("decoder %s: not for %s" % (decoder, codec))
    if decoder == "ffmpeg":
        ffdec(enc, dec_wav, rate)
    elif decoder == "sox":
        _run(["sox", "-R", enc, "-b", "16", dec_wav])
    elif decoder == "opusdec":
        _run(["opusdec", "--quiet", enc, dec_wav])
    got = _wav_rate(dec_wav)
    if got != rate:
        raise RuntimeError("decoder %s wrote %d Hz, not %d" % (decoder, got, rate))


def _wav_rate(path):
    import wave
    try:
        with wave.open(path) as w:
            return w.getframerate()
    except wave.Error:   # WAVE_FORMAT_EXTENSIBLE: the rate sits at the same offset
        with open(path, "rb") as f:
            h = f.read(28)
        return int.from_bytes(h[24:28], "little")


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
    name = "%s-%s-%s" % (c, q, cs)
    if cfg.get("decoder"):
        name += "-dec-" + cfg["decoder"]
    return name
