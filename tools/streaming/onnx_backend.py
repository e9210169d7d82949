"""ONNX Runtime backend of the streaming engine (files written by ``weldfusion export``).

:class:`OnnxBackend` runs an exported fusion model on the CPU execution provider with a fixed
number of intra-op threads and checks, from the file's ``weldfusion.*`` metadata, that it was
exported from the checkpoint it is used with (same modalities, classes and weights).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from weldfusion.recipes.errors import MissingInput
from weldfusion.tools.streaming.onnx_export import BOX_OUTPUTS, INPUT_EXTRA, OUTPUTS
from weldfusion.tools.training.localisation import box_rows


class OnnxBackend:
    """``predict(inputs) -> {"phase_probs", "defect_probs", "modality_weights"}`` with ONNX Runtime.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads of the session (1 suits batch-1 streaming on a shared CPU).
    """

    name = "onnx"

    def __init__(self, path: str | os.PathLike, threads: int = 1) -> None:
        import onnxruntime as ort  # lazy: ONNX Runtime only when an ONNX backend is used

        self.path = Path(path)
        if not self.path.is_file():
            raise MissingInput(f"{self.path}: no such ONNX file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - any load failure is a bad input file
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"{self.path}: not a loadable ONNX model ({first[:200]})") from None
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.input_names = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        missing = [o for o in OUTPUTS if o not in outputs]
        if missing or not set(INPUT_EXTRA) <= set(self.input_names):
            raise ValueError(f"{self.path}: not a weldfusion export (inputs {self.input_names}, outputs {outputs})")
        self.batch = self.session.get_inputs()[0].shape[0]  # fixed at export
        #: the image modality of an exported box head, or None (see :meth:`predict`)
        self.boxed = self.metadata.get("weldfusion.box_modality") if set(BOX_OUTPUTS) <= set(outputs) else None

    def check(self, info, fingerprint: str, batch: int = 1) -> None:
        """``ValueError`` unless this file was exported for ``info`` (DataInfo) with weights ``fingerprint``
        and batch size ``batch``."""
        meta = self.metadata
        if self.batch != batch:
            raise ValueError(f"{self.path}: exported for batch {self.batch}, needs batch {batch} (export --batch {batch})")
        for key, want in (("modalities", info.names), ("phases", info.phases), ("defects", info.defects)):
            have = meta.get(f"weldfusion.{key}")
            if have is None or tuple(json.loads(have)) != tuple(want):
                raise ValueError(f"{self.path}: {key} {have} do not match the checkpoint's {list(want)}")
        if meta.get("weldfusion.weights_sha256") != fingerprint:
            raise ValueError(f"{self.path}: exported from other weights than the checkpoint "
                             "(re-run weldfusion export)")

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """inputs: the model batch as arrays (batch axis first) -> the three outputs as (B, ...) arrays
        (and ``boxes`` as :meth:`~.engine.EagerBackend.predict` gives them, with an exported box head)."""
        feeds = {name: inputs[name] for name in self.input_names}
        if self.boxed is None:
            return dict(zip(OUTPUTS, self.session.run(list(OUTPUTS), feeds)))
        got = dict(zip(OUTPUTS + BOX_OUTPUTS, self.session.run(list(OUTPUTS + BOX_OUTPUTS), feeds)))
        column = json.loads(self.metadata["weldfusion.modalities"]).index(self.boxed)
        boxes = box_rows(got.pop("det_logits")[:, 0], got.pop("det_boxes")[:, 0])  # (B, Q, 6)
        index = got.pop("det_frame_index")
        got["boxes"] = [(int(index[i, 0]), boxes[i]) if inputs["present"][i, column] else None
                        for i in range(len(boxes))]
        return got
