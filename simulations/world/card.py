"""The world card: what each database looks like, how they relate, and how predictable the
test people are, with the two checks the world must pass (not trivial, not hopeless)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tastevec.common.metrics import srocc
from tastevec.simulations.world.databases import BuiltDatabase, RatedPerson, WorldState
from tastevec.simulations.world.properties import FEATURES

TRIVIAL_ABOVE = 0.8  # no single database or property may predict a test person better
HOPELESS_BELOW = 0.7  # the mean ceiling must be above this


def split_half_agreement(ratings_per_image: Sequence[np.ndarray], seed: int = 0) -> float | None:
    """Spearman-Brown corrected SROCC between the mean ratings of two random halves of each
    image's raters, averaged over 5 random halvings; None with fewer than 3 usable images."""
    usable = [r for r in ratings_per_image if len(r) >= 2]
    if len(usable) < 3:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(5):
        first, second = [], []
        for ratings in usable:
            shuffled = rng.permutation(ratings)
            half = len(shuffled) // 2
            first.append(shuffled[:half].mean())
            second.append(shuffled[half:].mean())
        r = srocc(np.array(first), np.array(second))
        values.append(2 * r / (1 + r) if r > -1 else -1.0)
    return float(np.mean(values))


@dataclass(frozen=True)
class PersonFit:
    person: str
    group: str
    unusual: bool
    ratings: int
    ceiling: float
    by_database: dict[str, float]
    by_property: dict[str, float]  # |SROCC| of each single property


def person_fit(world: WorldState, rated: RatedPerson, notions: dict[str, np.ndarray]) -> PersonFit:
    utility = rated.person.utility(world.features, world.notions)[rated.indices]
    return PersonFit(
        person=rated.person.id,
        group=rated.database,
        unusual=rated.person.unusual,
        ratings=len(rated.ratings),
        ceiling=srocc(utility, rated.ratings),
        by_database={n: srocc(u[rated.indices], rated.ratings) for n, u in notions.items()},
        by_property={
            name: abs(srocc(world.features[rated.indices, j], rated.ratings))
            for j, name in enumerate(FEATURES)
        },
    )


def _stats(values: Sequence[float]) -> str:
    array = np.asarray(values)
    return f"{array.mean():.3f} ({array.min():.3f} to {array.max():.3f})"


def build_card(
    world: WorldState, databases: Sequence[BuiltDatabase], header: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The card as Markdown, and its figures as a JSON-ready dict."""
    training = [db for db in databases if db.role != "test-only"]
    notions = {db.name: db.notion for db in training}
    fits = [
        person_fit(world, rated, notions)
        for db in databases
        for rated in db.people
        if rated.split == "test"
    ]
    figures: dict[str, Any] = {**header, "databases": {}, "test_people": {}}
    lines = [
        f"# Photo world card — size `{header['size']}`, seed {header['seed']}",
        "",
        "**The ratings in this world are simulated.** The images are real photos that ship "
        "inside pip packages (or the user's own), reframed and edited by known amounts; every "
        "rating comes from a defined rater model over measured image properties, edit "
        "parameters and content tags, with noise. No human rated any of these images.",
        "",
        f"- Images: {header['images']} ({header['train_images']} training domain from "
        f"{len(header['train_sources'])} photos; {header['held_out_images']} held-out domain "
        f"from {', '.join(header['held_out_sources'])}, which no training database sees).",
        f"- People: {header['people']} simulated people, each with at least "
        f"{header['fewest_ratings_per_person']} ratings; build time "
        f"{header['build_seconds']:.0f} s on {header['machine']}.",
        "",
        "## Databases",
        "",
        "| database | mirrors | role | images | ratings | scale | score mean ± sd "
        "(normalised) | p10 / p50 / p90 | inter-rater agreement |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for db in databases:
        agreement = split_half_agreement(db.ratings_per_image)
        p10, p50, p90 = np.percentile(db.normalised, [10, 50, 90])
        figures["databases"][db.name] = {
            "mirrors": db.mirrors,
            "role": db.role,
            "images": len(db.indices),
            "ratings": db.ratings,
            "score_mean": float(db.normalised.mean()),
            "score_sd": float(db.normalised.std()),
            "agreement": agreement,
        }
        shown = "—" if agreement is None else f"{agreement:.3f}"
        lines.append(
            f"| `{db.name}` | {db.mirrors} | {db.role} | {len(db.indices)} | {db.ratings} | "
            f"{db.scale} | {db.normalised.mean():.3f} ± {db.normalised.std():.3f} | "
            f"{p10:.2f} / {p50:.2f} / {p90:.2f} | {shown} |"
        )
    lines += [
        "",
        "Inter-rater agreement: SROCC between the mean ratings of two random halves of each "
        "image's raters, Spearman-Brown corrected (mean of 5 halvings).",
        "",
        "## How the databases' notions of good relate",
        "",
        "SROCC between the databases' noiseless notions over all training-domain images:",
        "",
        "| | " + " | ".join(f"`{n}`" for n in notions) + " |",
        "|---|" + "---|" * len(notions),
    ]
    train_ix = world.indices(False)
    matrix = {
        a: {b: srocc(ua[train_ix], ub[train_ix]) for b, ub in notions.items()}
        for a, ua in notions.items()
    }
    figures["notion_srocc"] = matrix
    for a in notions:
        lines.append(f"| `{a}` | " + " | ".join(f"{matrix[a][b]:.2f}" for b in notions) + " |")
    lines += _test_people_section(fits, notions, figures)
    return "\n".join(lines) + "\n", figures


def _test_people_section(
    fits: Sequence[PersonFit], notions: dict[str, np.ndarray], figures: dict[str, Any]
) -> list[str]:
    lines = [
        "",
        "## Test people",
        "",
        "Per group of held-out test people: the ceiling (SROCC of a person's own noiseless "
        "taste against their ratings) and how well each single database's notion predicts "
        "them; mean (min to max) over people.",
        "",
        "| group | people | ratings each | ceiling | "
        + " | ".join(f"`{n}`" for n in notions)
        + " | best single property |",
        "|---|---|---|---|" + "---|" * len(notions) + "---|",
    ]
    for group in sorted({fit.group for fit in fits}):
        mine = [fit for fit in fits if fit.group == group]
        best_property = max(FEATURES, key=lambda n: np.mean([f.by_property[n] for f in mine]))
        lines.append(
            f"| `{group}` | {len(mine)} | {int(np.mean([f.ratings for f in mine]))} | "
            f"{_stats([f.ceiling for f in mine])} | "
            + " | ".join(_stats([f.by_database[n] for f in mine]) for n in notions)
            + f" | {best_property}: {_stats([f.by_property[best_property] for f in mine])} |"
        )
        figures["test_people"][group] = {
            "people": len(mine),
            "ceiling_mean": float(np.mean([f.ceiling for f in mine])),
            "database_mean": {n: float(np.mean([f.by_database[n] for f in mine])) for n in notions},
        }
    ceiling = float(np.mean([f.ceiling for f in fits]))
    strongest = max(
        ((f.by_database[n], f"database `{n}`", f.person) for f in fits for n in notions),
        default=(0.0, "", ""),
    )
    strongest_property = max(
        ((f.by_property[n], f"property `{n}`", f.person) for f in fits for n in FEATURES),
        default=(0.0, "", ""),
    )
    top = max(strongest, strongest_property)
    trivial, hopeless = top[0] > TRIVIAL_ABOVE, ceiling <= HOPELESS_BELOW
    figures["checks"] = {
        "mean_ceiling": ceiling,
        "strongest_single_predictor": top[0],
        "trivial": trivial,
        "hopeless": hopeless,
    }
    unusual = [f.ceiling for f in fits if f.unusual]
    lines += [
        "",
        f"Unusual test people (a notion reversed, a strong personal direction): {len(unusual)} "
        f"of {len(fits)}; their ceiling {_stats(unusual) if unusual else '—'}.",
        "",
        "## Checks",
        "",
        f"- Not trivial: the strongest single predictor of any test person is {top[1]} for "
        f"`{top[2]}` with SROCC {top[0]:.3f} (must be ≤ {TRIVIAL_ABOVE}): "
        f"**{'FAIL' if trivial else 'pass'}**.",
        f"- Not hopeless: the mean ceiling over {len(fits)} test people is {ceiling:.3f} "
        f"(must be > {HOPELESS_BELOW}): **{'FAIL' if hopeless else 'pass'}**.",
    ]
    return lines
