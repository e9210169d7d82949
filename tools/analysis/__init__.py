"""Analysis library behind ``weldfusion ablate`` and ``weldfusion transfer``.

Modules, one job each:

- :mod:`.ablation` — modality subsets by masking ``present``, MS-STAN components switched off on
  a loaded model (inference knock-out) or by retraining, the ``ablation.json`` rows.
- :mod:`.attribution` — attention attribution against the simulator's ground truth: spatial
  attention on the arc/pool disc, temporal attention on key frames, modality weights per class.
- :mod:`.transfer` — the transfer recipe (pre-train on some pairs, fine-tune on a new one with a
  label fraction, train from scratch on the same labels) and its ``transfer.json`` rows.
- :mod:`.embedding_plot` — 2-D projection (PCA / t-SNE) of fused embeddings coloured by material pair.
- :mod:`.report` — markdown tables and bar charts of both tools.
"""
