"""`tastevec-sim story` (`make demo`): the whole product, end to end, on the embedded backbone.

1. a photo world (real bundled photos, simulated databases and people; standard size);
2. the operator forges a signed release from it and serves it: a real `tastevec-server serve`
   process with TLS and a writer token, made by the deployment commands' own functions;
3. each person is a device with a home of their own: it pulls the release over gRPC, rates a
   few of their photos, fits, and scores the rest — SROCC against their own held-out ratings
   before personalization (the population's default model) and after;
4. everyone shares: one federated round over SecAgg+ (the product's ServerApp and ClientApp
   in Flower's simulation engine) forms a population prior, and the ServerApp publishes it to
   the release service as a writer;
5. each device pulls the new release (only the prior's blob moves) and refits with the prior.

The release service is stopped by its pid at the end, also when a step fails. The ratings are
simulated (the photo world), and the report says so.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tastevec.client.cli import main as client_main
from tastevec.client.home import Home
from tastevec.client.release_cache import load_current_release
from tastevec.client.release_download import PullOptions, pull_from_server
from tastevec.common.datasets.catalog import load_people_ratings
from tastevec.common.errors import TastevecError
from tastevec.common.release import verify_release
from tastevec.common.signing import load_public_key
from tastevec.server.cli import main as server_main
from tastevec.server.deployment_credentials import write_tls_credentials, write_writer_token
from tastevec.server.flower_server import ROUNDS_LOG
from tastevec.simulations.tools.owned_processes import (
    OwnedProcesses,
    release_service_address,
    start_release_service,
)

PEOPLE_DATABASES = ("real_cur", "para", "flickr_aes")  # test people: ratings no forge saw
HELD_OUT = 10  # photos at least, besides those rated, for a person's SROCC


@dataclass(frozen=True, slots=True)
class StoryPerson:
    name: str
    rated: tuple[tuple[Path, float], ...]  # (image, raw score 1-5) the person rates
    held_out: tuple[tuple[Path, float], ...]  # (image, normalised score) for SROCC


@dataclass(frozen=True, slots=True)
class StoryRow:
    person: str
    before: float
    after: float
    with_prior: float
    delta_bytes: int


def story_people(world: Path, people: int, ratings: int) -> list[StoryPerson]:
    spec = json.loads((world / "world.json").read_text())["databases"]
    found: list[StoryPerson] = []
    for database in PEOPLE_DATABASES:
        entry = spec[database]
        loaded = load_people_ratings(database, world / entry["path"], **entry["people_options"])
        for person in loaded.split("test"):
            items = person.ratings
            if len(items) < ratings + HELD_OUT:
                continue
            rated = tuple((item.path, float(item.raw)) for item in items[:ratings])
            held = tuple((item.path, float(item.score)) for item in items[ratings:])
            found.append(StoryPerson(f"{database}/{person.person}", rated, held))
    if len(found) < max(people, 3):
        raise TastevecError(
            f"the world has {len(found)} test people with {ratings} + {HELD_OUT} ratings; "
            f"{max(people, 3)} are needed (fewer --people or --ratings)"
        )
    return found[:people]


def held_out_srocc(home: Home, person: StoryPerson) -> float:
    """SROCC of the device's model (its profile, else the population's default) on the
    person's held-out photos, scored as `tastevec-client score` scores them."""
    from tastevec.client.scoring import score_paths
    from tastevec.client.scoring_model import scoring_model
    from tastevec.common.device import default_device
    from tastevec.common.metrics import srocc

    model, _ = scoring_model(home, load_current_release(home), default_device())
    ranked = score_paths(model, [path for path, _ in person.held_out]).ranked
    scored = {str(Path(path).resolve()): score for path, score in ranked}
    pairs = [
        (scored[key], truth)
        for key, truth in ((str(Path(p).resolve()), t) for p, t in person.held_out)
        if key in scored
    ]
    if len(pairs) < 3:
        raise TastevecError(f"story: {person.name}'s held-out photos could not be scored")
    return float(srocc([s for s, _ in pairs], [t for _, t in pairs]))


def run_story(
    out: Path,
    *,
    world: Path | None = None,
    world_size: str = "standard",
    people: int = 6,
    ratings: int = 50,
    forge_steps: int = 60,
    image_size: int = 64,
    seed: int = 0,
) -> str:
    started = time.perf_counter()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise TastevecError(f"{out} is not empty; give a new or empty --out")
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = now - since
        return now

    step = time.perf_counter()
    if world is None:
        world = out / "world"
        _check(sim_world(world, world_size, seed), "building the world")
    step = lap("world", step)
    keys = out / "operator"
    keys.mkdir()
    key = keys / "release-key"
    _check(server_main(["keygen", "--out", str(key)]), "keygen")
    trust = keys / "release-key.pub"
    config = out / "forge.toml"
    config.write_text(
        f'world = "{world}"\n[training]\nsteps = {forge_steps}\nbatch_size = 16\n'
        f"image_size = {image_size}\nseed = {seed}\n"
    )
    releases = out / "releases"
    first = releases / "first"
    forge = ["forge", "--config", str(config), "--out", str(first), "--key", str(key)]
    _check(server_main([*forge, "--no-progress"]), "forge")
    start = verify_release(first, load_public_key(trust)).release_id
    os.rename(first, releases / start)
    step = lap("forge", step)

    tls = write_tls_credentials(keys / "tls", ("127.0.0.1", "localhost"))
    token = write_writer_token(keys / "writer-token")
    store = out / "store"
    publish = ["publish", str(releases / start), "--store", str(store), "--trust", str(trust)]
    _check(server_main(publish), "publish")
    persons = story_people(world, people, ratings)
    rows: list[StoryRow] = []
    with OwnedProcesses("TASTEVEC_STORY", str(out)) as owned:
        log = out / "release-service.log"
        start_release_service(
            owned,
            store,
            tls_cert=tls.server_cert,
            tls_key=tls.server_key,
            token=token,
            env=dict(os.environ),
            log=log,
        )
        address = release_service_address(log)
        homes = out / "homes"
        before, after = [], []
        for index, person in enumerate(persons):
            home = Home.at(homes / f"person-{index}")
            args = ["--home", str(home.root)]
            pull = ["pull", *args, "--server", address, "--tls-ca", str(tls.ca_cert)]
            _check(client_main([*pull, "--trust", str(trust), "--no-progress"]), "pull")
            csv = out / f"ratings-{index}.csv"
            csv.write_text("image,score\n" + "".join(f"{p},{s}\n" for p, s in person.rated))
            _check(client_main(["rate", *args, "--csv", str(csv), "--scale", "1-5"]), "rate")
            before.append(held_out_srocc(home, person))
            _check(client_main(["fit", *args]), "fit")
            after.append(held_out_srocc(home, person))
            _check(client_main(["share", "on", *args]), "share on")
        step = lap("devices: pull, rate, fit, score", step)

        _federated_round(releases, start, key, homes, len(persons), address, token, tls.ca_cert)
        rounds = [json.loads(line) for line in (releases / ROUNDS_LOG).read_text().splitlines()]
        published = rounds[-1]["published"]
        if published is None:
            raise TastevecError(f"the federated round published no prior: {rounds[-1]['why']}")
        step = lap("federated round (SecAgg+) and publication", step)

        for index, person in enumerate(persons):
            home = Home.at(homes / f"person-{index}")
            pulled = pull_from_server(home, address, PullOptions(tls_ca=tls.ca_cert))
            _check(client_main(["fit", "--home", str(home.root)]), "refit")
            rows.append(
                StoryRow(
                    person.name,
                    before[index],
                    after[index],
                    held_out_srocc(home, person),
                    pulled.bytes_fetched,
                )
            )
        lap("devices: delta pull, refit with the prior, score", step)
    manifest = verify_release(releases / published, load_public_key(trust))
    report = _report(rows, manifest.release_id, rounds[-1]["people"], ratings, timings, started)
    (out / "demo-report.md").write_text(report)
    return report


def sim_world(world: Path, size: str, seed: int) -> int:
    from tastevec.simulations.world.build import build_world
    from tastevec.simulations.world.sizes import world_size

    build_world(world, world_size(size), seed=seed, progress=False)
    return 0


def _federated_round(
    releases: Path,
    start: str,
    key: Path,
    homes: Path,
    people: int,
    address: str,
    token: Path,
    tls_ca: Path,
) -> None:
    from flwr.simulation import run_simulation

    from tastevec.client.flower_client import client_app
    from tastevec.server.flower_server import server_app

    run_simulation(
        server_app=server_app(
            releases=str(releases),
            **{
                "release-id": start,
                "key": str(key),
                "min-people": 3,
                "publish-server": address,
                "publish-token-file": str(token),
                "publish-tls-ca": str(tls_ca),
            },
        ),
        client_app=client_app(homes=homes),
        num_supernodes=people,
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
    )


def _check(status: int, what: str) -> None:
    if status != 0:
        raise TastevecError(f"story: {what} failed (exit status {status})")


def _report(
    rows: list[StoryRow],
    release_id: str,
    cohort: int,
    ratings: int,
    timings: dict[str, float],
    started: float,
) -> str:
    mean = [sum(getattr(r, f) for r in rows) / len(rows) for f in ("before", "after", "with_prior")]
    lines = [
        "# tastevec: the whole story",
        "",
        "Ratings are simulated (the photo world), not human. Each person rated "
        f"{ratings} of their photos; SROCC is on their other photos.",
        "",
        "| person | before personalization | after | with the prior | delta pull (bytes) |",
        "|---|---|---|---|---|",
        *(
            f"| {r.person} | {r.before:.3f} | {r.after:.3f} | {r.with_prior:.3f} | "
            f"{r.delta_bytes} |"
            for r in rows
        ),
        f"| **mean** | **{mean[0]:.3f}** | **{mean[1]:.3f}** | **{mean[2]:.3f}** | |",
        "",
        f"The federated round's prior came from {cohort} devices (SecAgg+: the server saw only "
        f"their sums) and was published to the release service as release `{release_id}`; "
        "each device then pulled only the prior's blob.",
        "",
        "| step | seconds |",
        "|---|---|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in timings.items()),
        f"| **total** | **{time.perf_counter() - started:.1f}** |",
        "",
    ]
    return "\n".join(lines)
