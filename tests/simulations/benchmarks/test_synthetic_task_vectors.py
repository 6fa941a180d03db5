import torch

from tastevec.common.digests import state_dict_digest
from tastevec.simulations.benchmarks.synthetic_task_vectors import synthetic_task_vectors

BASE = {"w": torch.full((200, 50), 2.0), "b": torch.full((50,), -1.0), "n": torch.tensor(3)}


def test_vectors_have_real_shapes_scale_and_base() -> None:
    vectors = synthetic_task_vectors(BASE, 3, relative_scale=0.01)
    assert len(vectors) == 3
    assert {v.source for v in vectors} == {"synthetic-0", "synthetic-1", "synthetic-2"}
    for vector in vectors:
        assert set(vector.deltas) == {"w", "b"}  # integer tensors skipped
        assert vector.base_digest == state_dict_digest(BASE)
        assert abs(float(vector.deltas["w"].std()) - 0.02) < 0.002  # 1% of |w| = 2
    assert vectors[0].cosine_similarity(vectors[1]) < 0.1  # independent directions


def test_same_seed_same_vectors() -> None:
    a = synthetic_task_vectors(BASE, 1, seed=5)[0]
    b = synthetic_task_vectors(BASE, 1, seed=5)[0]
    assert torch.equal(a.deltas["w"], b.deltas["w"])
