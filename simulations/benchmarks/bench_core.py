"""`tastevec-sim bench core`: what personalization costs at scoring and fitting time.

Measured side by side in one run, alternating the two sides of each ratio so that drifts in
machine load hit both: scoring throughput of the base model and of a merged personalized
model (6 task vectors); a composed forward+backward (gradients to the coefficients) against a
plain forward+backward (gradients to all weights), per coefficient layout; and peak memory of
each step in a fresh process. Task vectors are random with real shapes (cost does not depend
on their values).
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import torch
from torch import nn
from tqdm import tqdm

from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.composition import ComposedModel
from tastevec.common.device import default_device
from tastevec.common.score_model import build_score_model
from tastevec.simulations.benchmarks.memory_probe import MemoryReading, measure_in_fresh_process
from tastevec.simulations.benchmarks.synthetic_task_vectors import synthetic_task_vectors
from tastevec.simulations.tools.machine import describe_machine, machine_table

NUM_TASK_VECTORS = 6
MIB = 2**20


def _timed(step: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds per call over the repetitions of one step."""

    median: float
    low: float
    high: float

    def cell(self) -> str:
        return f"{self.median:.3f} ({self.low:.3f}-{self.high:.3f})"


def side_by_side(
    steps: dict[str, Callable[[], object]], repeats: int, device: torch.device
) -> dict[str, Timing]:
    """Seconds per call of each step, calls interleaved round-robin after a warm-up."""
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            times[name].append(_timed(step, device))
    return {
        name: Timing(statistics.median(values), min(values), max(values))
        for name, values in times.items()
    }


def _forward_backward(module: nn.Module, images: torch.Tensor) -> Callable[[], object]:
    def step() -> None:
        module.zero_grad(set_to_none=True)
        module(images).sum().backward()

    return step


def run_core_benchmark(*, batch_size: int = 32, image_size: int = 224, repeats: int = 9) -> str:
    device = default_device()
    torch.manual_seed(0)
    model = build_score_model().to(device).eval()
    vectors = synthetic_task_vectors(model.state_dict(), NUM_TASK_VECTORS)
    images = torch.randn(batch_size, 3, image_size, image_size, device=device)

    composed = {
        layout: ComposedModel(model, vectors, layout, init=1.0 / NUM_TASK_VECTORS).to(device)
        for layout in CoefficientLayout
    }
    merged = composed[CoefficientLayout.TENSOR].merge()
    plain = copy.deepcopy(model).requires_grad_(True)  # same weights, loaded once
    fitting_steps = {"plain": _forward_backward(plain, images)}
    fitting_steps |= {
        f"composed ({layout.value})": _forward_backward(module.eval(), images)
        for layout, module in composed.items()
    }
    with tqdm(total=4, desc="bench core", unit="phase") as progress:
        with torch.no_grad():
            scoring = side_by_side(
                {"base": lambda: model(images), "merged": lambda: merged(images)},
                repeats,
                device,
            )
        progress.update()
        fitting = side_by_side(fitting_steps, max(2, repeats // 2), device)
        progress.update()
        memory = {}
        for kind in ("plain", "composed"):
            memory[kind] = measure_in_fresh_process(kind, batch_size, image_size, NUM_TASK_VECTORS)
            progress.update()

    vector_bytes = sum(v.nbytes for v in vectors)
    return _report(
        scoring, fitting, memory, vector_bytes, batch_size=batch_size, image_size=image_size,
        repeats=repeats,
    )  # fmt: skip


def _report(
    scoring: dict[str, Timing],
    fitting: dict[str, Timing],
    memory: dict[str, MemoryReading],
    vector_bytes: int,
    *,
    batch_size: int,
    image_size: int,
    repeats: int,
) -> str:
    base_rate = batch_size / scoring["base"].median
    merged_rate = batch_size / scoring["merged"].median
    ratio = merged_rate / base_rate
    lines = [
        "# Core benchmark: the cost of personalization",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M UTC} by `tastevec-sim bench core`; backbone "
        f"tf_efficientnet_lite0 + 10-bin head; batch {batch_size}, {image_size} px; "
        f"{NUM_TASK_VECTORS} task vectors (random values with real shapes: cost does not "
        f"depend on values); medians of {repeats} interleaved repetitions after a warm-up.",
        "",
        *machine_table(describe_machine()),
        "",
        "## Scoring (no gradients)",
        "",
        "| model | s / batch, median (min-max) | images / s | ratio to base |",
        "|---|---|---|---|",
        f"| base | {scoring['base'].cell()} | {base_rate:.1f} | 1.000 |",
        f"| merged personalized | {scoring['merged'].cell()} | {merged_rate:.1f} | {ratio:.3f} |",
        "",
        f"Target: merged / base >= 0.95 -> **{'met' if ratio >= 0.95 else 'NOT met'}** "
        f"({ratio:.3f}). A merged model has the base model's architecture and size; "
        "personalization costs nothing at scoring time.",
        "",
        "## Fitting step (forward + backward)",
        "",
        "| step | gradients to | s / batch, median (min-max) | ratio to plain |",
        "|---|---|---|---|",
    ]
    for name, timing in fitting.items():
        target = "all weights" if name == "plain" else "coefficients only"
        relative = timing.median / fitting["plain"].median
        lines.append(f"| {name} | {target} | {timing.cell()} | {relative:.3f} |")
    lines += [
        "",
        "## Peak memory, each side in a fresh process",
        "",
        "Resident-set high-water mark above what the process held after its imports "
        "(CPU: VmHWM reset per phase), or peak allocated memory (CUDA). Set-up = building "
        "the model (and, composed, the task vectors and their stacks); step = one forward + "
        "backward of the batch.",
        "",
        "| side | set-up peak | step peak |",
        "|---|---|---|",
    ]
    labels = {
        "plain": "plain (all weights trainable)",
        "composed": f"composed, {NUM_TASK_VECTORS} task vectors, tensor layout",
    }
    for kind, label in labels.items():
        lines.append(
            f"| {label} | {memory[kind]['setup_peak_bytes'] / MIB:.0f} MiB "
            f"| {memory[kind]['step_peak_bytes'] / MIB:.0f} MiB |"
        )
    extra = (memory["composed"]["step_peak_bytes"] - memory["plain"]["step_peak_bytes"]) / MIB
    lines += [
        "",
        f"The {NUM_TASK_VECTORS} task vectors hold {vector_bytes / MIB:.1f} MiB (float32); "
        f"the composed step peaks {extra:+.0f} MiB above the plain one.",
    ]
    return "\n".join(lines) + "\n"
