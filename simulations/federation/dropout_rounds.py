"""Rounds in which a third of the devices drop out mid-round, after their keys are shared and
before their masked vector: with the survivors above SecAgg+'s reconstruction threshold the
prior still forms, from the survivors alone; with them below it the round halts, nothing is
published, and the run says why (`<releases>/federation-rounds.jsonl`).

A dropout is a mod on the device (`dropout_mod`): asked for its masked vector
(Stage.COLLECT_MASKED_VECTORS) a leaving device answers with an error instead of fitting, as
a device that went away mid-round looks to the server. Both rounds run the product's
ServerApp and ClientApp in an in-process Flower simulation (Ray,
simulations/federation/federated_run.py)
over the same homes, one round each, every device holding a share of every other's keys
(num-shares 1.0).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flwr.app import Context, Error, Message
from flwr.clientapp.typing import ClientAppCallable, Mod
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage

from tastevec.client.home import Home
from tastevec.client.personal_profile import profile_path
from tastevec.common.errors import TastevecError
from tastevec.server.flower_server import ROUNDS_LOG
from tastevec.simulations.federation.clear_text_priors import (
    LAYOUT,
    fits_of,
    prior_errors,
    published_prior,
)
from tastevec.simulations.federation.federated_run import run_federation
from tastevec.simulations.federation.population_homes import Population

MIN_PEOPLE = 3  # the ServerApp's default: a round publishes from 3 people or more


def dropout_mod(partitions: Collection[int]) -> Mod:
    """A ClientApp mod: the devices of these partition ids leave when asked for their masked
    vector (after SecAgg+'s key sharing), answering with an error; the others go on."""
    leaving = frozenset(partitions)

    def mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
        configs = msg.content.config_records.get(RECORD_KEY_CONFIGS) if msg.has_content() else None
        stage = None if configs is None else configs.get(Key.STAGE)
        partition = context.node_config.get("partition-id")
        if stage == Stage.COLLECT_MASKED_VECTORS and partition in leaving:
            return Message(Error(500, "the device went away"), reply_to=msg)
        return call_next(msg, context)

    return mod


@dataclass(frozen=True, slots=True)
class DropoutRound:
    people: int
    dropped: tuple[int, ...]  # partition ids
    threshold: int  # shares needed to reconstruct (of `people`, one per device)
    log: tuple[dict[str, Any], ...]  # the lines this run added to ROUNDS_LOG
    published: tuple[str, ...]  # release folders that appeared in `releases`
    fitted: tuple[int, ...]  # partitions whose profile for the start release was (re)written
    seconds: float  # the simulation's wall time


def dropped_partitions(people: int) -> tuple[int, ...]:
    """Every third device (2, 5, 8, ...): people // 3 of them."""
    return tuple(range(2, people, 3))


def run_dropout_round(
    releases: Path,
    homes: Path,
    people: int,
    start: str,
    key: Path,
    trust: Path,
    dropped: Collection[int],
    threshold: int,
) -> DropoutRound:
    """One round from release `start` over homes person-0 .. person-(people-1), the `dropped`
    partitions leaving mid-round, SecAgg+ needing `threshold` of the `people` shares."""
    if not 2 <= threshold <= people:
        raise TastevecError(f"dropouts: a threshold of {threshold} shares of {people} is invalid")
    log_path = releases / ROUNDS_LOG
    logged = len(log_path.read_text().splitlines()) if log_path.is_file() else 0
    before = {p.name for p in releases.iterdir() if p.is_dir()}
    profiles = [profile_path(Home(homes / f"person-{i}").profiles, start) for i in range(people)]
    stamps = [_stamp(p) for p in profiles]
    run = run_federation(
        Population(homes, people, ()),  # the run needs only the homes
        releases,
        start,
        key,
        trust,
        config={
            "layout": LAYOUT.value,
            "rounds": 1,
            "min-people": MIN_PEOPLE,
            "num-shares": 1.0,  # every device holds a share of every other's keys
            # SecAgg+ takes a fraction of the shares: of `people` shares, `threshold`
            "reconstruction-threshold": threshold / people,
        },
        extra_mods=[dropout_mod(dropped)],
    )
    after = {p.name for p in releases.iterdir() if p.is_dir()}
    return DropoutRound(
        people,
        tuple(sorted(dropped)),
        threshold,
        run.rounds[logged:],
        tuple(sorted(after - before)),
        tuple(i for i, (p, s) in enumerate(zip(profiles, stamps, strict=True)) if _stamp(p) != s),
        run.seconds,
    )


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


def dropout_section(
    releases: Path, homes: Path, people: int, start: str, key: Path, trust: Path
) -> list[str]:
    """The report's dropout section (markdown lines): two one-round runs over the first
    `people` homes (each with release `start` installed, ratings imported, sharing on), every
    third device leaving mid-round; (a) the survivors exceed the threshold by one share: the
    prior forms from them, set against the clear-text prior of their own saved fits; (b) the
    threshold is one share above the survivors: the round halts and publishes nothing."""
    dropped = dropped_partitions(people)
    survivors = people - len(dropped)
    if not dropped or survivors < MIN_PEOPLE:
        raise TastevecError(
            f"dropouts: {people} people leave {survivors} survivors after {len(dropped)} drop; "
            f"give at least 4 people (a third drop, {MIN_PEOPLE} or more must survive)"
        )
    missing = [i for i in range(people) if not (homes / f"person-{i}").is_dir()]
    if missing:
        raise TastevecError(f"dropouts: {homes} has no home person-{missing[0]}")
    if not (releases / start).is_dir():
        raise TastevecError(f"dropouts: {releases} has no release {start}")
    formed = run_dropout_round(
        releases, homes, people, start, key, trust, dropped, max(2, survivors - 1)
    )
    halted = run_dropout_round(releases, homes, people, start, key, trust, dropped, survivors + 1)
    return [
        "## Devices that drop out mid-round",
        "",
        f"{people} simulated people (simulated ratings), all sharing; every third device "
        f"drops out mid-round ({len(dropped)} of {people}: partition"
        f"{'s' if len(dropped) > 1 else ''} {', '.join(map(str, dropped))}): a mod on the "
        "device answers the server's request for its masked vector "
        "(SecAgg+'s stage `collect masked vectors`, after the keys are shared) with an "
        "error, as a device that went away looks to the server. One round each, from release "
        f"`{start}`; num-shares 1.0 (every device holds a share of every other's keys), the "
        "reconstruction threshold set per run (shares needed to unmask, of "
        f"{people}).",
        "",
        "| run | people | dropped | survivors | threshold | people (server) | outcome | "
        "max error of the mean | max error of the variance |",
        "|---|---|---|---|---|---|---|---|---|",
        _row("survivors above the threshold", formed, releases, homes, start, trust),
        _row("survivors below the threshold", halted, releases, homes, start, trust),
        "",
        *_verdicts(formed, halted, start),
        "",
        f"Wall time of the simulations (fits included): {formed.seconds:.0f} s and "
        f"{halted.seconds:.0f} s.",
        "",
    ]


def _row(name: str, run: DropoutRound, releases: Path, homes: Path, start: str, trust: Path) -> str:
    survivors = run.people - len(run.dropped)
    cells = [name, str(run.people), str(len(run.dropped)), str(survivors), str(run.threshold)]
    if len(run.log) != 1:
        outcome = f"{len(run.log)} rounds logged, not 1"
        return "| " + " | ".join([*cells, "—", outcome, "—", "—"]) + " |"
    entry = run.log[0]
    if entry["published"] is None:
        outcome = f"halted, nothing published: {entry['why']}"
        return "| " + " | ".join([*cells, str(entry["people"]), outcome, "—", "—"]) + " |"
    mean_error, variance_error = _errors(run, releases, homes, start, trust, entry["published"])
    outcome = f"published {entry['published']}"
    return (
        "| "
        + " | ".join(
            [*cells, str(entry["people"]), outcome, f"{mean_error:.2e}", f"{variance_error:.2e}"]
        )
        + " |"
    )


def _errors(
    run: DropoutRound, releases: Path, homes: Path, start: str, trust: Path, published: str
) -> tuple[float, float]:
    """The published prior against the clear-text prior of the survivors' own fits (each
    home's saved profile for `start`): the largest absolute differences."""
    survivors = [i for i in range(run.people) if i not in run.dropped]
    prior = published_prior(releases, published, trust)
    return prior_errors(prior, fits_of(homes, survivors, start))


def _verdicts(formed: DropoutRound, halted: DropoutRound, start: str) -> list[str]:
    survivors = [i for i in range(formed.people) if i not in formed.dropped]
    lines = []
    if formed.fitted == tuple(survivors):
        lines.append(
            f"Above the threshold only the survivors fitted (their profiles for `{start}` were "
            "written; the dropped devices' were not), and the prior is theirs."
        )
    else:
        lines.append(
            f"Above the threshold the fitted devices were {list(formed.fitted)}, not the "
            f"survivors {survivors}."
        )
    entry = halted.log[0] if len(halted.log) == 1 else None
    if entry is not None and entry["published"] is None and not halted.published:
        lines.append(
            f"Below the threshold the round halted cleanly: no release was published (the "
            f"releases folder is unchanged), and the run says why: “{entry['why']}”."
        )
    else:
        lines.append(
            f"Below the threshold the round did NOT halt cleanly: logged {list(halted.log)}, "
            f"new releases {list(halted.published)}."
        )
    return lines
