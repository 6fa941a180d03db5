"""The device's Flower ClientApp: contribute this person's coefficients to the population
prior, masked by SecAgg+, only if they agreed (`tastevec-client share on`).

Each round the device
1. installs the release the round is about, verified against the trusted key: from the
   release service (node config `release-server`, with `release-tls-ca`; the same
   `pull_from_server` as `tastevec-client pull --server`, so only the blobs it lacks move),
   else from a releases folder (a simulation's);
2. fits its person's model on the local ratings store with that release's prior, through the
   same `fitting.fit_profile` as `tastevec-client fit` (and saves the profile);
3. returns [coefficients, coefficients**2] / scale (common/shared_statistics.py) through
   `secaggplus_mod`, with weight 1 and no metrics: the server learns only the cohort's sums;
   with DP on (the round's `dp-noise-multiplier` > 0) clipped and with this device's share
   of the Gaussian noise added first (client/statistics_noise.py).

A round begins by asking each device whether it shares (a legacy get_properties): SecAgg+
cannot lose a device between its setup and its key sharing, so only sharers join the cohort.
A device whose owner has not agreed fits locally with the release it has and answers every
message with an error that carries no data: no key, no vector, no count. The server learns
which devices share, and nothing else about those that do not.

Where the device's home is: the SuperNode's node config `home` (`--node-config
"home='/path'"`), else, in a simulation, `<homes>/person-<partition-id>` with `homes` from the
node or run config (or `client_app(homes=...)`). `release-server`, `release-tls-ca`,
`releases` and `trust` likewise. torch loads only in the messages that fit, so the round's
other messages (each a fresh ClientApp process on a SuperNode) start at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flwr.app import Context, Error, Message
from flwr.client import Client, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import Mod
from flwr.common.constant import MessageTypeLegacy
from flwr.common.typing import NDArrays, Scalar

from tastevec.client.fit_options import FitMode
from tastevec.client.home import Home
from tastevec.client.release_cache import current_release_id, pull_from_dir
from tastevec.client.sharing import sharing_enabled
from tastevec.client.statistics_noise import StatisticsNoise, add_statistics_noise
from tastevec.common.coefficients import parse_layout
from tastevec.common.errors import TastevecError

log = logging.getLogger(__name__)
NOT_SHARING = 451  # the error code of a device whose owner has not agreed to share
NOT_SHARING_REASON = "this device's owner has not agreed to share (tastevec-client share on)"


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    home: Path
    releases: Path | None
    trust: Path | None
    release_server: str | None = None  # HOST:PORT of the release service
    release_tls_ca: Path | None = None  # its CA certificate (TLS)


def device_settings(context: Context, defaults: dict[str, str] | None = None) -> DeviceSettings:
    """Where this device's home, releases folder and trusted key are (see the module doc)."""

    def setting(name: str) -> str | None:
        for source in (context.node_config, context.run_config, defaults or {}):
            value = source.get(name)
            if isinstance(value, str) and value:
                return value
        return None

    home = setting("home")
    if home is None:
        homes = setting("homes")
        partition = context.node_config.get("partition-id")
        if homes is None or partition is None:
            raise TastevecError(
                "no device home: give the SuperNode --node-config \"home='DIR'\" (or, in a "
                "simulation, a homes folder)"
            )
        home = str(Path(homes) / f"person-{int(partition)}")
    releases, trust, tls_ca = setting("releases"), setting("trust"), setting("release-tls-ca")
    return DeviceSettings(
        Path(home),
        None if releases is None else Path(releases),
        None if trust is None else Path(trust),
        setting("release-server"),
        None if tls_ca is None else Path(tls_ca),
    )


def ensure_release(settings: DeviceSettings, release_id: str) -> None:
    """Make `release_id` the current release, pulling it from the release service (or the
    releases folder) if needed."""
    home = Home.at(settings.home)
    if current_release_id(home) == release_id:
        return
    if settings.release_server is not None:
        from tastevec.client.release_download import PullOptions, pull_from_server

        options = PullOptions(release_id, settings.trust, tls_ca=settings.release_tls_ca)
        pull_from_server(home, settings.release_server, options)
        return
    if settings.releases is None or settings.trust is None:
        raise TastevecError(
            f"release {release_id} is not installed in {home.root} and neither a release "
            "server nor a releases folder and trusted key are configured"
        )
    pull_from_dir(home, settings.releases / release_id, settings.trust)


class PersonClient(NumPyClient):
    """One device's contribution to a round: fit, then the shared statistics."""

    def __init__(self, settings: DeviceSettings) -> None:
        self.settings = settings

    def get_parameters(self, config: dict[str, Scalar]) -> NDArrays:
        return []

    def get_properties(self, config: dict[str, Scalar]) -> dict[str, Scalar]:
        """The round's first question: only a sharing device gets here (consent_mod)."""
        return {"sharing": sharing_enabled(Home.at(self.settings.home))}

    def fit(
        self, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[NDArrays, int, dict[str, Scalar]]:
        home = Home.at(self.settings.home)
        if not sharing_enabled(home):  # consent_mod stops the round before this; be sure
            raise TastevecError(NOT_SHARING_REASON)
        ensure_release(self.settings, str(config["release-id"]))
        # torch loads here, in the one message of a round that fits
        from tastevec.client.fitting import fit_profile
        from tastevec.common.shared_statistics import (
            StatisticsEncoding,
            check_clipping_range,
            encode_statistics,
        )

        outcome = fit_profile(home, FitMode.FAST, parse_layout(str(config["layout"])))
        encoding = StatisticsEncoding(float(config["clipping-range"]), float(config["value-scale"]))
        coefficients = np.array(outcome.profile.coefficients, np.float64)
        if float(config.get("dp-noise-multiplier", 0.0)) <= 0:
            return list(encode_statistics(coefficients, encoding)), 1, {}
        noise = StatisticsNoise(
            float(config["dp-clipping-norm"]),
            float(config["dp-noise-multiplier"]),
            int(config["dp-cohort"]),
        )
        arrays = [coefficients / encoding.scale, coefficients**2 / encoding.scale]
        return check_clipping_range(add_statistics_noise(arrays, noise), encoding), 1, {}


def consent_mod(defaults: dict[str, str] | None = None) -> Mod:
    """A mod before `secaggplus_mod`: without the owner's consent, fit locally and answer the
    round's first message with an error carrying no data, so no key or vector leaves."""

    def mod(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
        settings = device_settings(context, defaults)
        home = Home.at(settings.home)
        if sharing_enabled(home):
            return call_next(msg, context)
        if msg.metadata.message_type == MessageTypeLegacy.GET_PROPERTIES:  # a round begins
            _fit_locally(home)
        return Message(Error(NOT_SHARING, NOT_SHARING_REASON), reply_to=msg)

    return mod


def _fit_locally(home: Home) -> None:
    """Refit with the release this device has, its prior included; no release or too few
    ratings: nothing to fit (the person has not set the device up)."""
    if current_release_id(home) is None or not home.ratings.exists():
        return
    from tastevec.client.fitting import fit_profile

    try:
        fit_profile(home, FitMode.FAST, parse_layout("block"))
    except TastevecError as exc:
        log.info("local fit skipped: %s", exc)


def client_app(
    *,
    homes: Path | None = None,
    releases: Path | None = None,
    trust: Path | None = None,
    extra_mods: Sequence[Mod] = (),
) -> ClientApp:
    """The ClientApp; `homes`, `releases`, `trust`: defaults for a simulation driven in-process
    (the node and run configs win). `extra_mods` run first (a test's capture of what leaves)."""
    defaults = {
        name: str(value)
        for name, value in (("homes", homes), ("releases", releases), ("trust", trust))
        if value is not None
    }

    def client_fn(context: Context) -> Client:
        return PersonClient(device_settings(context, defaults)).to_client()

    return ClientApp(client_fn=client_fn, mods=[*extra_mods, consent_mod(defaults), secaggplus_mod])


app = client_app()
