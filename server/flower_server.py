"""The operator's Flower ServerApp: rounds of SecAgg+ over the devices' shared statistics,
each turned into a population prior and published as a new signed release.

A round (flwr's legacy workflow API, the only one with SecAgg+): every available device is
asked to fit against the current release and to return [coefficients, squares] / scale
(common/shared_statistics.py) with weight 1 through `SecAggPlusWorkflow`; the server learns
only their mean over the devices that finished, and how many they were. From those sums
`common.coefficient_prior.population_prior` gives each coefficient's mean and spread, and
`server.prior_publication.publish_prior` writes a new release that shares every blob with the
current one; the next round (and every device's next pull) uses it. A round in which fewer
devices survive than SecAgg+'s reconstruction threshold, or fewer than `min-people`,
publishes nothing and says why in the log and in `<releases>/federation-rounds.jsonl`
(which holds counts and release ids only, never a person's coefficients).

Run config (kebab-case, declared in pyproject's [tool.flwr.app.config]): `releases` (folder
of release folders), `release-id` (the one to start from), `key` (the operator's private
key), `layout`, `rounds`, `min-people`, `num-shares`, `reconstruction-threshold`,
`clipping-range`, `value-scale`, `timeout`; to serve each new prior at once, `publish-server`
(HOST:PORT of a release service), `publish-token-file` (its writer token) and `publish-tls-ca`
(its CA certificate): the new release is published there as `tastevec-server publish
--server` does (server/release_publisher.py), uploading only the prior's blob; differential
privacy (off unless `dp-noise-multiplier` > 0): `dp-noise-multiplier`, `dp-clipping-norm`,
`dp-delta` — each device clips and adds its share of the noise (client/statistics_noise.py),
and the run's epsilon from Flower's RDP accountant (server/privacy_accounting.py) is written
to the published release's notes and the rounds file.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from flwr.app import Context
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.typing import FitIns, FitRes, GetPropertiesIns, Parameters, Scalar
from flwr.server import Grid, LegacyContext, ServerConfig
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.serverapp import ServerApp

from tastevec.common.atomic_file import write_atomic
from tastevec.common.coefficient_prior import population_prior
from tastevec.common.coefficients import parse_layout
from tastevec.common.errors import TastevecError
from tastevec.common.shared_statistics import StatisticsEncoding, decode_sums
from tastevec.common.signing import load_private_key
from tastevec.server.prior_publication import publish_prior
from tastevec.server.privacy_accounting import PrivacyBudget
from tastevec.server.release_publisher import publish_over_wire
from tastevec.server.release_server import read_writer_token

log = logging.getLogger(__name__)
ROUNDS_LOG = "federation-rounds.jsonl"


_COUNT_OR_FRACTION = ("num_shares", "reconstruction_threshold")  # an int stays an int


@dataclass(frozen=True, slots=True)
class FederationSettings:
    releases: str = ""
    release_id: str = ""
    key: str = ""
    layout: str = "block"
    rounds: int = 1
    min_people: int = 3
    # SecAgg+'s own forms: a float is a fraction (of the sampled devices; of the shares), an
    # int a count (each device's keys shared with num-shares - 1 others: O(n * num-shares)
    # work instead of O(n^2) for a large cohort)
    num_shares: float | int = 1.0
    reconstruction_threshold: float | int = 0.5
    clipping_range: float = 8.0
    value_scale: float = 1.0
    timeout: float = 300.0
    dp_noise_multiplier: float = 0.0  # 0: no differential privacy
    dp_clipping_norm: float = 1.0
    dp_delta: float = 1e-5
    publish_server: str = ""  # a release service to publish each new release to
    publish_token_file: str = ""
    publish_tls_ca: str = ""

    @classmethod
    def from_config(cls, config: dict[str, Any], defaults: dict[str, Any]) -> FederationSettings:
        values: dict[str, Any] = {}
        for field in fields(cls):
            key = field.name.replace("_", "-")
            if key in config:
                values[field.name] = config[key]
            elif key in defaults:
                values[field.name] = defaults[key]
        default = cls()
        typed: dict[str, Any] = {
            name: value
            if name in _COUNT_OR_FRACTION and type(value) is int
            else type(getattr(default, name))(value)
            for name, value in values.items()
        }
        settings = cls(**typed)
        for name in ("releases", "release_id", "key"):
            if not getattr(settings, name):
                raise TastevecError(f"federation: run config {name.replace('_', '-')} is not set")
        if settings.min_people < 2:
            raise TastevecError("federation: min-people must be at least 2")
        if settings.publish_server and not settings.publish_token_file:
            raise TastevecError("federation: publish-server needs publish-token-file")
        return settings


class PriorStrategy(FedAvg):
    """FedAvg's sampling (every available device), SecAgg+'s sum in, a published prior out."""

    def __init__(self, settings: FederationSettings) -> None:
        super().__init__(
            fraction_fit=1.0,
            fraction_evaluate=0.0,
            min_fit_clients=settings.min_people,
            min_evaluate_clients=0,
            min_available_clients=settings.min_people,
            accept_failures=True,
            initial_parameters=ndarrays_to_parameters([]),
        )
        self.settings = settings
        self.release_id = settings.release_id
        self.encoding = StatisticsEncoding(settings.clipping_range, settings.value_scale)
        self.published: dict[int, str] = {}
        self.recorded: set[int] = set()  # rounds this run has written to ROUNDS_LOG
        self.cohort = 0
        self.budget = (
            PrivacyBudget(settings.dp_noise_multiplier, settings.dp_delta)
            if settings.dp_noise_multiplier > 0
            else None
        )

    def configure_fit(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, FitIns]]:
        """Every available device that says its owner shares; SecAgg+ cannot lose a device
        before its keys are shared (its unmasking expects shares from every sampled one),
        so devices that do not share are asked first and left out of the cohort."""
        client_manager.wait_for(self.settings.min_people, timeout=int(self.settings.timeout))
        sharers = self._sharing_devices(list(client_manager.all().values()), server_round)
        if len(sharers) < self.settings.min_people:
            self._record(
                server_round, 0, None, f"{len(sharers)} devices share, fewer than min-people"
            )
            return []
        config: dict[str, Scalar] = {
            "release-id": self.release_id,
            "layout": self.settings.layout,
            "clipping-range": self.settings.clipping_range,
            "value-scale": self.settings.value_scale,
        }
        self.cohort = len(sharers)
        if self.budget is not None:
            config["dp-noise-multiplier"] = self.settings.dp_noise_multiplier
            config["dp-clipping-norm"] = self.settings.dp_clipping_norm
            config["dp-cohort"] = self.cohort
        return [(proxy, FitIns(parameters, dict(config))) for proxy in sharers]

    def _sharing_devices(self, proxies: list[ClientProxy], server_round: int) -> list[ClientProxy]:
        def shares(proxy: ClientProxy) -> bool:
            try:
                reply = proxy.get_properties(
                    GetPropertiesIns({}), timeout=self.settings.timeout, group_id=server_round
                )
            except ValueError:  # an error reply: the owner has not agreed (or it failed)
                return False
            return reply.properties.get("sharing") is True

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(shares, proxies))
        log.info("round %d: %d of %d devices share", server_round, sum(answers), len(proxies))
        return [proxy for proxy, ok in zip(proxies, answers, strict=True) if ok]

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        people = len(results)
        if people < self.settings.min_people:
            self._record(server_round, people, None, f"fewer than min-people ({people})")
            return None, {}
        mean = parameters_to_ndarrays(results[0][1].parameters)  # SecAgg+: each holds the sum
        sums = decode_sums(mean, people, parse_layout(self.settings.layout), self.encoding)
        prior = population_prior(sums)
        privacy: dict[str, object] = {}
        if self.budget is not None:
            privacy = {
                "dp_epsilon": self.budget.spend(self.cohort, people),
                "dp_delta": self.settings.dp_delta,
                "dp_noise_multiplier": self.budget.effective_multiplier(self.cohort, people),
                "dp_clipping_norm": self.settings.dp_clipping_norm,
            }
        releases = Path(self.settings.releases)
        folder, manifest = publish_prior(
            releases / self.release_id,
            prior,
            releases,
            load_private_key(Path(self.settings.key)),
            notes={"federated_round": server_round, "federated_people": people, **privacy},
        )
        log.info(
            "round %d: prior from %d people published as release %s",
            server_round,
            people,
            manifest.release_id,
        )
        if self.settings.publish_server:
            self._serve(folder)
        self.published[server_round] = manifest.release_id
        self._record(server_round, people, manifest.release_id, None, privacy)
        self.release_id = manifest.release_id
        return ndarrays_to_parameters([]), {}

    def _serve(self, folder: Path) -> None:
        """Publish the new release to the release service, as a writer (only the blobs it
        lacks travel: the prior's)."""
        token = read_writer_token(Path(self.settings.publish_token_file))
        tls_ca = Path(self.settings.publish_tls_ca) if self.settings.publish_tls_ca else None
        outcome = publish_over_wire(folder, self.settings.publish_server, token, tls_ca=tls_ca)
        log.info(
            "release %s published to %s (%s)",
            outcome.release_id,
            self.settings.publish_server,
            "now current" if outcome.current else "not current: the store holds a newer one",
        )

    def _record(
        self,
        server_round: int,
        people: int,
        release: str | None,
        why: str | None,
        privacy: dict[str, object] | None = None,
    ) -> None:
        if why is not None:
            log.warning("round %d: no prior published: %s", server_round, why)
        path = Path(self.settings.releases) / ROUNDS_LOG
        line: dict[str, object] = {
            "round": server_round,
            "people": people,
            "published": release,
            "why": why,
        }
        line.update(privacy or {})
        previous = path.read_bytes() if path.is_file() else b""
        write_atomic(path, previous + (json.dumps(line) + "\n").encode())
        self.recorded.add(server_round)


def run_federation(grid: Grid, context: Context, settings: FederationSettings) -> PriorStrategy:
    strategy = PriorStrategy(settings)
    legacy = LegacyContext(
        context=context, config=ServerConfig(num_rounds=settings.rounds), strategy=strategy
    )
    workflow = DefaultWorkflow(
        fit_workflow=SecAggPlusWorkflow(
            num_shares=settings.num_shares,
            reconstruction_threshold=settings.reconstruction_threshold,
            max_weight=1.0,  # every device weighs 1: nothing is scaled down before quantizing
            clipping_range=settings.clipping_range,
            timeout=settings.timeout,
        )
    )
    workflow(grid, legacy)
    for server_round in range(1, settings.rounds + 1):
        if server_round not in strategy.recorded:
            strategy._record(
                server_round,
                0,
                None,
                "SecAgg+ halted: fewer devices survived than its reconstruction threshold",
            )
    return strategy


def server_app(**defaults: Any) -> ServerApp:
    """The ServerApp; `defaults` (kebab-case names) for a simulation driven in-process, where
    flwr does not read pyproject's run config (the run config wins)."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        run_federation(grid, context, FederationSettings.from_config(context.run_config, defaults))

    return app


app = server_app()
