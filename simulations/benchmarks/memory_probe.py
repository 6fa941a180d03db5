"""Peak memory of composition and of one training-style step, alone in a fresh process.

`python -m tastevec.simulations.benchmarks.memory_probe plain|composed BATCH SIZE
TASK_VECTORS` prints one JSON line. On a CPU it reads the kernel's resident-set high-water
mark (VmHWM), reset through /proc/self/clear_refs before each phase, so each figure is that
phase's own peak above the memory held after imports. On CUDA it reads torch's peak allocated
memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict, cast

import torch

from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.composition import ComposedModel
from tastevec.common.device import default_device
from tastevec.common.score_model import build_score_model
from tastevec.simulations.benchmarks.synthetic_task_vectors import synthetic_task_vectors

_STATUS = Path("/proc/self/status")


class MemoryReading(TypedDict):
    kind: str
    device: str
    baseline_bytes: int  # held after imports, before the phases
    setup_peak_bytes: int  # peak above the baseline while building
    step_peak_bytes: int  # peak above the baseline during one forward + backward


def _status_bytes(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} missing from {_STATUS}")


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        Path("/proc/self/clear_refs").write_text("5")


def _peak(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return _status_bytes("VmHWM")


def _phase(device: torch.device, baseline: int, work: Callable[[], object]) -> tuple[object, int]:
    _reset_peak(device)
    result = work()
    return result, _peak(device) - baseline


def measure(kind: str, batch_size: int, image_size: int, num_vectors: int) -> MemoryReading:
    device = default_device()
    baseline = (
        int(torch.cuda.memory_allocated(device))
        if device.type == "cuda"
        else _status_bytes("VmRSS")
    )

    def build() -> torch.nn.Module:
        model = build_score_model()
        if kind == "plain":
            return model.requires_grad_(True).to(device).eval()
        vectors = synthetic_task_vectors(model.state_dict(), num_vectors)
        return (
            ComposedModel(model, vectors, CoefficientLayout.TENSOR, init=1 / num_vectors)
            .to(device)
            .eval()
        )

    built, setup_peak = _phase(device, baseline, build)
    module = cast(torch.nn.Module, built)
    images = torch.randn(batch_size, 3, image_size, image_size, device=device)
    _, step_peak = _phase(device, baseline, lambda: module(images).sum().backward())
    return MemoryReading(
        kind=kind,
        device=device.type,
        baseline_bytes=baseline,
        setup_peak_bytes=setup_peak,
        step_peak_bytes=step_peak,
    )


def measure_in_fresh_process(
    kind: str, batch_size: int, image_size: int, num_vectors: int
) -> MemoryReading:
    """`measure` in a new interpreter: freed heap pages stay resident in a used process."""
    command = [
        sys.executable, "-m", "tastevec.simulations.benchmarks.memory_probe",
        kind, str(batch_size), str(image_size), str(num_vectors),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=1800)
    reading: MemoryReading = json.loads(result.stdout.strip().splitlines()[-1])
    return reading


if __name__ == "__main__":
    kind, batch, size, vectors = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(measure(kind, batch, size, vectors)))
