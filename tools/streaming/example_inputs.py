"""Seeded random model inputs of a data layout (parity checks, exports, kernel timing)."""

from __future__ import annotations

import numpy as np


def example_inputs(info, batch: int = 1, seed: int = 0, present: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Seeded random inputs of the model's shapes (``info``: DataInfo); all modalities present by default."""
    rng = np.random.default_rng(seed)
    out = {m.name: rng.standard_normal((batch, *m.shape)).astype(np.float32) for m in info.modalities}
    out["present"] = np.ones((batch, len(info.names)), dtype=bool) if present is None else \
        np.broadcast_to(np.asarray(present, dtype=bool), (batch, len(info.names))).copy()
    out["params"] = rng.standard_normal((batch, len(info.params))).astype(np.float32)
    out["pair"] = rng.integers(0, len(info.pairs), batch).astype(np.int64)
    return out
