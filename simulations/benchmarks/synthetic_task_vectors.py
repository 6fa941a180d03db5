"""Random task vectors with the shapes of real ones, for speed and memory benchmarks.

Cost does not depend on the values, only on shapes and dtypes; these are NOT fine-tunes and
carry no notion of quality.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from tastevec.common.digests import state_dict_digest
from tastevec.common.task_vector import TaskVector


def synthetic_task_vectors(
    base: Mapping[str, torch.Tensor], count: int, *, relative_scale: float = 0.01, seed: int = 0
) -> list[TaskVector]:
    """`count` vectors, each tensor's delta relative_scale * |w| * N(0, 1)."""
    generator = torch.Generator().manual_seed(seed)
    digest = state_dict_digest(base)
    floating = {name: t for name, t in base.items() if t.is_floating_point()}
    return [
        TaskVector(
            {
                name: relative_scale * tensor.abs() * torch.randn(tensor.shape, generator=generator)
                for name, tensor in floating.items()
            },
            source=f"synthetic-{index}",
            base_digest=digest,
        )
        for index in range(count)
    ]
