"""A sampler whose order is a pure function of (seed, epoch), so training can resume mid-epoch exactly.

:class:`ResumableSampler` is ``torch.utils.data.DistributedSampler`` (shuffled with
``torch.Generator().manual_seed(seed + epoch)``, the same permutation on every rank, each rank
taking every ``world_size``-th index) plus :meth:`skip`: after a resume it starts ``n`` samples into
this rank's share of the epoch. With one process it is a seeded shuffle of the whole data set, and
the DDP ranks' first local batches together are exactly the single-process first global batch.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Dataset, DistributedSampler


class ResumableSampler(DistributedSampler):
    """Seeded per-epoch shuffle, sharded over ranks, that can start part-way through an epoch."""

    def __init__(self, dataset: Dataset, num_replicas: int = 1, rank: int = 0, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                         drop_last=drop_last)
        self._skip = 0

    def skip(self, n: int) -> None:
        """Leave out the first ``n`` indices of this rank's share in the next iteration only."""
        if n < 0:
            raise ValueError(f"cannot skip {n} samples")
        self._skip = n

    def state_dict(self) -> dict:
        return {"seed": int(self.seed), "epoch": int(self.epoch), "num_replicas": int(self.num_replicas)}

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        skip, self._skip = self._skip, 0
        return iter(indices[skip:])

    def __len__(self) -> int:
        return self.num_samples - self._skip
