import torch

from tastevec.simulations.benchmarks.bench_core import side_by_side


def test_side_by_side_interleaves_and_takes_medians() -> None:
    calls: list[str] = []
    steps = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    result = side_by_side(steps, 3, torch.device("cpu"))
    assert calls == ["a", "b"] + ["a", "b"] * 3  # warm-up, then round-robin
    assert set(result) == {"a", "b"}
    assert all(0 <= t.low <= t.median <= t.high for t in result.values())
