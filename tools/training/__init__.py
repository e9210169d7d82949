"""Training library behind ``weldfusion train`` / ``evaluate`` (and the ablation, transfer and baseline tools).

Modules, one job each:

- :mod:`.optim` — AdamW with decoupled weight decay, cosine schedule with linear warm-up.
- :mod:`.checkpoint` — atomic ``best.pt`` / ``last.pt`` with everything needed for an exact resume.
- :mod:`.distributed` — torchrun/DDP helpers (gloo on CPU, nccl on GPU), rank-0-only writes.
- :mod:`.data` — train/val/test window datasets, normalisation statistics and class weights from a recipe.
- :mod:`.sampler` — the resumable (distributed) sampler that fixes the data order of every epoch.
- :mod:`.predict` — run a model over a loader and collect probabilities and labels.
- :mod:`.metrics` — phase/defect/calibration metrics (scikit-learn), thresholds chosen on validation.
- :mod:`.plots` — training curves, confusion matrix, reliability diagram (matplotlib, Agg).
- :mod:`.trainer` — the training loop (mixed precision on GPU, clipping, early stopping, resume).
"""
