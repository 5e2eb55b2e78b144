"""The patch CNN of fakeless: its PyTorch definition and its export to the JSON format the
C++ inference reads (include/fakeless/model/cnn.hpp, "fakeless-cnn" version 1).

A patch is 32 time frames x 256 frequency bands (float32); the network gives one number per
patch, the logit of "lossy". Imported by the training script; scripts/make-cnn-fixture
writes the test fixture with it.
"""

import json
import math

import numpy as np
import torch
from torch import nn

FORMAT = "fakeless-cnn"
VERSION = 1
FRAMES = 32
BANDS = 256


class PatchCnn(nn.Module):
    """4 x (Conv2d 3x3 pad 1 -> BatchNorm2d -> ReLU -> MaxPool2d(2)), then Flatten (channel,
    time, band) -> Linear(hidden) -> ReLU -> Dropout -> Linear(1). Input (batch, 1, frames,
    bands), output (batch,): the lossy logit."""

    def __init__(self, channels=(8, 16, 32, 32), hidden=32, dropout=0.3, frames=FRAMES, bands=BANDS):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        shrink = 2 ** len(channels)
        if frames % shrink or bands % shrink:
            raise ValueError(f"a {frames}x{bands} patch does not halve {len(channels)} times")
        self.channels, self.hidden, self.frames, self.bands = channels, int(hidden), int(frames), int(bands)
        blocks = []
        c_in = 1
        for c in channels:
            blocks += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*blocks)
        flat = c_in * (frames // shrink) * (bands // shrink)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, self.hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(self.hidden, 1)
        )

    def forward(self, x):
        return self.head(self.features(x)).squeeze(-1)


class PatchCnnBiLstm(nn.Module):
    """The CNN with a bidirectional LSTM over time (paper 003's CNN+BiLSTM, at our patch
    size): 4 conv blocks as PatchCnn, but the last two pool only the bands, so 8 time steps
    of (channel x band) features remain; a BiLSTM (hidden per direction) reads them, its
    outputs are averaged over time, then Linear(hidden) -> ReLU -> Dropout -> Linear(1).
    For measuring whether recurrence earns its cost: the C++ inference has no LSTM layer,
    so export_json refuses it."""

    def __init__(self, channels=(8, 16, 32, 32), lstm=32, hidden=32, dropout=0.3, frames=FRAMES, bands=BANDS):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) != 4 or frames % 4 or bands % 16:
            raise ValueError("PatchCnnBiLstm has 4 blocks: frames must halve twice, bands 4 times")
        self.channels, self.frames, self.bands = channels, int(frames), int(bands)
        blocks = []
        c_in = 1
        for i, c in enumerate(channels):
            pool = nn.MaxPool2d(2) if i < 2 else nn.MaxPool2d((1, 2))
            blocks += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), pool]
            c_in = c
        self.features = nn.Sequential(*blocks)
        self.steps = frames // 4
        self.rnn = nn.LSTM(c_in * (bands // 16), lstm, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(2 * lstm, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x):
        f = self.features(x)                       # (batch, channel, time, band)
        f = f.permute(0, 2, 1, 3).flatten(2)       # (batch, time, channel x band)
        out, _ = self.rnn(f)
        return self.head(out.mean(dim=1)).squeeze(-1)


ARCHS = {"cnn": PatchCnn, "cnn-bilstm": PatchCnnBiLstm}


def _f32(values):
    """Compact JSON of float32 values: the shortest decimal that reads back as the same
    float32 (at most 9 significant digits)."""
    a = np.asarray(values, dtype=np.float32).ravel()
    if not np.all(np.isfinite(a)):
        raise ValueError("a weight is not finite")
    return "[" + ",".join(np.format_float_positional(v, unique=True, trim="-") if 1e-4 <= abs(v) < 1e7 or v == 0
                          else np.format_float_scientific(v, unique=True, trim="-") for v in a) + "]"


def _layers(model):
    """The exported layers, in order: (dict of small fields, weight array or None, bias or None).
    BatchNorm is folded into the convolution before it (eval-mode statistics); Dropout is
    left out (identity at inference)."""
    mods = [m for m in model.modules() if not list(m.children())]
    out = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d):
            if m.stride != (1, 1) or m.dilation != (1, 1) or m.groups != 1 or m.padding_mode != "zeros":
                raise ValueError("only stride-1, undilated, ungrouped, zero-padded convolutions export")
            if m.kernel_size[0] != m.kernel_size[1] or not isinstance(m.padding, tuple) or m.padding[0] != m.padding[1]:
                raise ValueError("only square kernels with equal padding export")
            w = m.weight.detach().double()
            b = m.bias.detach().double() if m.bias is not None else torch.zeros(m.out_channels, dtype=torch.float64)
            if i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
                bn = mods[i + 1]
                if bn.running_mean is None or bn.running_var is None:
                    raise ValueError("BatchNorm2d without running statistics cannot be folded")
                scale = 1.0 / torch.sqrt(bn.running_var.detach().double() + bn.eps)
                if bn.affine:
                    scale = scale * bn.weight.detach().double()
                b = (b - bn.running_mean.detach().double()) * scale
                if bn.affine:
                    b = b + bn.bias.detach().double()
                w = w * scale.view(-1, 1, 1, 1)
                i += 1
            out.append(({"type": "conv2d", "in": m.in_channels, "out": m.out_channels,
                         "kernel": m.kernel_size[0], "pad": m.padding[0]}, w.numpy(), b.numpy()))
        elif isinstance(m, nn.BatchNorm2d):
            raise ValueError("a BatchNorm2d that does not follow a Conv2d cannot be folded")
        elif isinstance(m, nn.ReLU):
            out.append(({"type": "relu"}, None, None))
        elif isinstance(m, nn.MaxPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            if (m.kernel_size not in (k, (k, k))) or s != k or m.padding not in (0, (0, 0)) or m.ceil_mode \
                    or m.dilation not in (1, (1, 1)):
                raise ValueError("only MaxPool2d(k) (square, stride k, no padding) exports")
            out.append(({"type": "maxpool2d", "size": k}, None, None))
        elif isinstance(m, nn.Flatten):
            out.append(({"type": "flatten"}, None, None))
        elif isinstance(m, nn.Linear):
            b = m.bias.detach().double() if m.bias is not None else torch.zeros(m.out_features, dtype=torch.float64)
            out.append(({"type": "linear", "in": m.in_features, "out": m.out_features},
                        m.weight.detach().double().numpy(), b.numpy()))
        elif isinstance(m, (nn.Dropout, nn.Identity)):
            pass
        else:
            raise ValueError(f"cannot export a {type(m).__name__} layer")
        i += 1
    return out


def export_json(model, path, meta=None):
    """Writes `model` (a PatchCnn, or any stack of the supported layers in order) to `path`
    in the fakeless-cnn v1 format. `meta`: extra top-level keys, copied verbatim (calibration,
    threshold, ...); meta["input"] is merged into the input object."""
    meta = dict(meta or {})
    for k in ("format", "version", "layers"):
        if k in meta:
            raise ValueError(f"meta may not set '{k}'")
    was_training = model.training
    model.eval()
    try:
        layers = _layers(model)
    finally:
        model.train(was_training)
    inp = {"frames": getattr(model, "frames", FRAMES), "bands": getattr(model, "bands", BANDS)}
    inp.update(meta.pop("input", {}) or {})

    def dump(v):
        return json.dumps(v, separators=(",", ":"), allow_nan=False)

    head = [f'"format":{dump(FORMAT)}', f'"version":{VERSION}', f'"input":{dump(inp)}']
    head += [f"{dump(str(k))}:{dump(v)}" for k, v in meta.items()]
    lines = []
    for fields, w, b in layers:
        s = dump(fields)[:-1]
        if w is not None:
            s += f',"weight":{_f32(w)},"bias":{_f32(b)}'
        lines.append(s + "}")
    text = "{" + ",\n".join(head) + ',\n"layers":[\n' + ",\n".join(lines) + "\n]}\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def checks(model, inputs):
    """Eval-mode logits of `inputs` ((n, 1, frames, bands) or (n, frames, bands); tensor or
    array) as a list of Python floats; the model's training mode is restored."""
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32) if not torch.is_tensor(inputs) else inputs)
    x = x.to(torch.float32)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        model.train(was_training)
    out = [float(v) for v in y.reshape(-1).tolist()]
    if not all(math.isfinite(v) for v in out):
        raise ValueError("a logit is not finite")
    return out
