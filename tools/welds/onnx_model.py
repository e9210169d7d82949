"""An ONNX export of a checkpoint used where a torch model is expected (``weldfusion predict --onnx``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from weldfusion.tools.streaming.onnx_backend import OnnxBackend
from weldfusion.tools.streaming.onnx_export import weights_fingerprint


class OnnxModel(nn.Module):
    """``forward(batch) -> {"phase_probs", "defect_probs", "modality_weights"}`` through ONNX Runtime,
    one window at a time (the export's batch size), after checking the file belongs to the checkpoint."""

    def __init__(self, path, trained, threads: int = 1) -> None:
        super().__init__()
        self.backend = OnnxBackend(path, threads=threads)
        self.backend.check(trained.info, weights_fingerprint(trained.model))
        self.names = trained.info.names
        self.register_buffer("_device_anchor", torch.zeros(0))

    def forward(self, batch: dict) -> dict:
        keys = (*self.names, "present", "params", "pair")
        n = int(batch["present"].shape[0])
        outs: dict[str, list] = {}
        for i in range(n):
            inputs = {k: batch[k][i : i + 1].cpu().numpy() for k in keys}
            for k, v in self.backend.predict(inputs).items():
                if isinstance(v, np.ndarray):  # an exported box head's ``boxes`` (a list) stay out: predict --onnx
                    outs.setdefault(k, []).append(v)  # writes no event boxes (the eager path does)
        return {k: torch.from_numpy(np.concatenate(v, axis=0)) for k, v in outs.items()}
