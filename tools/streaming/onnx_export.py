"""ONNX export of a trained fusion model, with the presence mask as an input.

The exported graph takes the batch of ``datasets/info.py`` as separate inputs — one per modality
((B, T, H, W) / (B, C, S) float32), ``present`` (B, M) bool, ``params`` (B, P) float32 and ``pair``
(B,) int64 — and returns ``phase_probs`` (B, P), ``defect_probs`` (B, D) and ``modality_weights``
(B, M). The batch size B is fixed at export (default 1, what streaming runs): the model computes
reshape sizes from Python ints (``b * t`` in MS-STAN), which the TorchScript tracer records as
constants, so a dynamic batch axis would silently be wrong for other sizes.

How the eager model is made exportable (on a copy; the checkpoint's model is untouched):

- ``skip_absent = False``: every encoder runs on every sample and the presence mask selects
  (``torch.where``) instead of gathering the present samples — no data-dependent shapes. The
  fusion masks absent modalities as attention keys, so outputs equal the eager model's.
- torchaudio spectrograms (``torch.stft`` with complex output, which the TorchScript-based ONNX
  exporter cannot translate) are replaced by :class:`ConvSpectrogram`: the same windowed DFT
  as a strided ``conv1d`` with cosine/sine kernels (reflect padding, one-sided, power 2).
- ``nn.AdaptiveAvgPool1d`` (electrical tokens) becomes :class:`AvgPoolMatrix1d`, the same bins as
  a matmul (the exporter only translates output sizes that divide the input length).
- ``aten::take_along_dim`` (frame selection of MS-STAN's adaptive sampling) gets an ONNX
  ``GatherElements`` translation, registered for the export and removed afterwards.

The exporter is the TorchScript-based one (``torch.onnx.export(..., dynamo=False)``): the
dynamo exporter of torch 2.11 needs ``onnxscript`` (not a dependency) and cannot trace the
model's data-dependent input check. The model's "at least one present modality" check is a
Python ``bool`` and is therefore not part of the graph: callers must not send all-absent rows.

The file carries metadata (``weldfusion.*`` properties): modality, phase and defect names and a
SHA-256 fingerprint of the weights, so ``stream --onnx`` can check that it belongs to the checkpoint.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
import torchaudio
from torch import Tensor, nn
from torch.onnx.symbolic_helper import _get_const
from weldfusion.fusion.localisation import box_modality
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.files import temporary_name
from weldfusion.tools.streaming.example_inputs import example_inputs  # noqa: F401  (re-exported)

INPUT_EXTRA = ("present", "params", "pair")
OUTPUTS = ("phase_probs", "defect_probs", "modality_weights")
#: Extra outputs of a model with a box head (``model.localisation.detection``): the strongest kept
#: frame's class logits (B, 1, Q, C + 1), boxes (B, 1, Q, 4) (cx, cy, w, h in [0, 1]) and window
#: frame index (B, 1); rows where the modality is absent carry values to ignore.
BOX_OUTPUTS = ("det_logits", "det_boxes", "det_frame_index")


def output_names(model: nn.Module) -> tuple[str, ...]:
    """The ONNX outputs of ``model``: :data:`OUTPUTS`, plus :data:`BOX_OUTPUTS` with a box head."""
    return OUTPUTS + BOX_OUTPUTS if box_modality(model) is not None else OUTPUTS
OPSET = 17


class ConvSpectrogram(nn.Module):
    """Power spectrogram as a strided conv1d: (..., S) -> (..., n_fft // 2 + 1, F).

    Equals ``torchaudio.transforms.Spectrogram`` with ``center=True``, ``pad_mode="reflect"``,
    ``onesided=True``, ``normalized=False``, ``pad=0`` and ``power`` 1 or 2.
    """

    def __init__(self, n_fft: int, hop_length: int, window: Tensor, power: float) -> None:
        super().__init__()
        win_length = window.numel()
        w = torch.zeros(n_fft, dtype=torch.float64)
        left = (n_fft - win_length) // 2  # torch.stft centres a shorter window inside n_fft
        w[left : left + win_length] = window.detach().double().cpu()
        k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
        t = torch.arange(n_fft, dtype=torch.float64)[None]
        angle = 2 * torch.pi * k * t / n_fft
        basis = torch.cat([w * torch.cos(angle), -w * torch.sin(angle)])[:, None]  # (2K, 1, n_fft)
        self.register_buffer("basis", basis.to(window.dtype))
        self.n_fft, self.hop, self.bins, self.power = n_fft, hop_length, n_fft // 2 + 1, power

    @classmethod
    def from_torchaudio(cls, spec: nn.Module) -> ConvSpectrogram:
        """Replacement of a ``torchaudio.transforms.Spectrogram``; ``ValueError`` for settings it does not cover."""
        if not (spec.center and spec.pad_mode == "reflect" and spec.onesided and not spec.normalized
                and spec.pad == 0 and spec.power in (1.0, 2.0)):
            raise InvalidInput("cannot export this spectrogram (needs center, reflect padding, onesided, "
                             "not normalised, pad 0, power 1 or 2)")
        return cls(spec.n_fft, spec.hop_length, spec.window, float(spec.power))

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        y = F.pad(x.reshape(-1, 1, x.shape[-1]), (self.n_fft // 2, self.n_fft // 2), mode="reflect")  # (N, 1, S')
        z = F.conv1d(y, self.basis, stride=self.hop)  # (N, 2K, F)
        power = z[:, : self.bins] ** 2 + z[:, self.bins :] ** 2
        if self.power == 1.0:
            power = power.sqrt()
        return power.reshape(*lead, self.bins, power.shape[-1])  # (..., K, F)


class AvgPoolMatrix1d(nn.Module):
    """``nn.AdaptiveAvgPool1d(size)`` as a matmul with its averaging matrix: (B, C, L) -> (B, C, size).

    Same bins as PyTorch (``[floor(i L / size), ceil((i + 1) L / size))``); exportable for any ``L``
    (the TorchScript exporter only translates sizes that divide ``L``). ``L`` is fixed per model, so
    the matrix becomes a constant of the graph.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: Tensor) -> Tensor:
        length = int(x.shape[-1])
        m = np.zeros((length, self.size), dtype=np.float32)
        for i in range(self.size):
            a, b = (i * length) // self.size, -((-(i + 1) * length) // self.size)
            m[a:b, i] = 1.0 / (b - a)
        return x @ torch.from_numpy(m).to(x.dtype)  # (B, C, size)


class ExportWrapper(nn.Module):
    """Positional tensors in, the output tensors of :func:`output_names` out (what ONNX sees)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.names = tuple(model.names)
        self.outputs = output_names(model)

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        batch = dict(zip((*self.names, *INPUT_EXTRA), inputs))
        out = self.model(batch)
        main = tuple(out[k] for k in OUTPUTS)
        if self.outputs == OUTPUTS:
            return main
        pred = next(iter(out["localisation"].values()))
        return (*main, pred["det_logits"], pred["det_boxes"], pred["frame_index"])


def exportable_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode with ``skip_absent`` off, conv spectrograms and matrix
    adaptive pooling (see module docstring)."""

    out = copy.deepcopy(model).cpu().eval()
    out.skip_absent = False
    for module in list(out.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torchaudio.transforms.Spectrogram):
                setattr(module, child_name, ConvSpectrogram.from_torchaudio(child))
            elif isinstance(child, nn.AdaptiveAvgPool1d) and isinstance(child.output_size, int):
                setattr(module, child_name, AvgPoolMatrix1d(child.output_size))
    return out


def weights_fingerprint(model: nn.Module) -> str:
    """SHA-256 over the names, shapes and bytes of every state-dict tensor."""
    h = hashlib.sha256()
    for name, value in model.state_dict().items():
        h.update(name.encode())
        t = value.detach().cpu().contiguous()
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


def _take_along_dim(g, self, indices, dim):

    return g.op("GatherElements", self, indices, axis_i=_get_const(dim, "i", "dim"))


#: The newest opset the TorchScript exporter (``dynamo=False``) of the pinned torch writes.
MAX_OPSET = 20


def export_onnx(model: nn.Module, info, path: str | os.PathLike, opset: int = OPSET, batch: int = 1,
                source: str = "") -> Path:
    """Write the ONNX graph of ``model`` (for data ``info``, batch size ``batch``) to ``path``
    (overwrites; callers check first).

    Written to a temporary file next to ``path`` and renamed when complete.
    """

    if not 17 <= opset <= MAX_OPSET:
        raise InvalidInput(f"opset must be {17}..{MAX_OPSET} (LayerNormalization needs >= 17; this torch exports up to "
                           f"{MAX_OPSET}), got {opset}")
    path = Path(path)
    wrapper = ExportWrapper(exportable_copy(model)).eval()
    names = [*info.names, *INPUT_EXTRA]
    if batch < 1:
        raise InvalidInput(f"batch must be >= 1, got {batch}")
    example = example_inputs(info, batch=batch)
    args = tuple(torch.from_numpy(example[k]) for k in names)
    tmp = temporary_name(path)
    torch.onnx.register_custom_op_symbolic("aten::take_along_dim", _take_along_dim, opset)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the Python-level presence check
            warnings.simplefilter("ignore", DeprecationWarning)  # dynamo=False is the supported path here
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message="Constant folding")  # slices with steps: kept as ops
            warnings.filterwarnings("ignore", message="Exporting aten::index")  # the box head's row/frame picks: indices >= 0
            try:
                torch.onnx.export(
                    wrapper, args, str(tmp), dynamo=False, opset_version=opset, input_names=names,
                    output_names=list(wrapper.outputs), do_constant_folding=True)
            except torch.onnx.errors.OnnxExporterError as err:  # the message holds the whole graph
                first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
                raise InvalidInput(f"{path}: the model cannot be exported to ONNX ({first})") from None
        proto = onnx.load(str(tmp))
        meta = {"weldfusion.modalities": json.dumps(list(info.names)), "weldfusion.phases": json.dumps(list(info.phases)),
                "weldfusion.defects": json.dumps(list(info.defects)), "weldfusion.window_s": str(info.window_s),
                "weldfusion.batch": str(batch),
                "weldfusion.weights_sha256": weights_fingerprint(model), "weldfusion.source": source}
        if wrapper.outputs != OUTPUTS:  # the modality of the box head, for the backend's boxes
            meta["weldfusion.box_modality"] = box_modality(model)
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        os.replace(tmp, path)
    finally:
        torch.onnx.unregister_custom_op_symbolic("aten::take_along_dim", opset)
        if tmp.exists():
            tmp.unlink()
    return path
