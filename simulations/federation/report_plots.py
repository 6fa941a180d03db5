"""The federation report's plots (PNG, matplotlib's Agg backend): mean SROCC over the final
test people against shots, against the number of task vectors, and against the cohort that
made the prior."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tastevec.simulations.people.prior_evaluation import PersonScores


def plot_shots(
    scores: PersonScores, conditions: Sequence[str], shots: Sequence[int], path: Path
) -> None:
    figure, axes = _axes()
    for condition in conditions:
        points = [(s, scores.mean(condition, s)) for s in shots if (condition, s) in scores.srocc]
        axes.plot(*zip(*points, strict=True), marker="o", label=condition)
    axes.set_xscale("log")
    axes.set_xticks(list(shots), [str(s) for s in shots])
    _finish(figure, axes, "shots (rated images)", "SROCC against shots, by prior", path)


def plot_vectors(scores: PersonScores, count: int, shots: Sequence[int], path: Path) -> None:
    figure, axes = _axes()
    for s in shots:
        points = [(k, scores.mean(str(k), s)) for k in range(1, count + 1)]
        axes.plot(*zip(*points, strict=True), marker="o", label=f"{s} shots")
    axes.set_xticks(list(range(1, count + 1)))
    _finish(
        figure,
        axes,
        "task vectors (paper's order)",
        "SROCC against the number of task vectors",
        path,
    )


def plot_cohorts(
    scores: PersonScores, priors: Sequence[str], shots: Sequence[int], path: Path
) -> None:
    figure, axes = _axes()
    for s in shots:
        means = [scores.mean(name, s) for name in priors]
        axes.plot(list(priors), means, marker="o", label=f"{s} shots, prior")
        axes.axhline(
            scores.mean("no prior", s), linestyle="--", alpha=0.6, label=f"{s} shots, no prior"
        )
    _finish(figure, axes, "people in the prior's round", "SROCC with the prior of a cohort", path)


def _axes() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 4.5))


def _finish(figure: Any, axes: Any, xlabel: str, title: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    axes.set_xlabel(xlabel)
    axes.set_ylabel("mean SROCC, final test people")
    axes.set_title(f"{title} (simulated ratings)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
