"""Publishing a prior: a new signed release, every other blob hard-linked from the old one,
the other layouts' priors kept, the same layout's replaced; a wrong key publishes nothing."""

import shutil
from pathlib import Path

import pytest
import torch

from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import ReleaseError, TastevecError
from tastevec.common.release import BLOB_DIR, verify_release
from tastevec.common.release_model import load_release_prior
from tastevec.common.signing import generate_private_key, load_private_key, load_public_key
from tastevec.server.flower_server import FederationSettings
from tastevec.server.prior_publication import publish_prior


def prior(layout: CoefficientLayout, value: float, people: int) -> CoefficientPrior:
    return CoefficientPrior(
        layout, torch.full((1, 6), value), torch.full((1, 6), 0.01), people=people
    )


def test_a_published_prior_shares_every_blob_and_keeps_the_other_layouts(
    release: Path, release_key: Path, trust: Path, tmp_path: Path
) -> None:
    releases = tmp_path / "releases"
    source = releases / "start"
    shutil.copytree(release, source)
    key = load_private_key(release_key)
    first, _ = publish_prior(source, prior(CoefficientLayout.GLOBAL, 0.2, 5), releases, key)
    second, manifest = publish_prior(first, prior(CoefficientLayout.BLOCK, 0.3, 7), releases, key)
    third, latest = publish_prior(second, prior(CoefficientLayout.BLOCK, 0.4, 9), releases, key)
    assert verify_release(third, load_public_key(trust)) == latest
    assert [(p.layout, p.people) for p in latest.priors] == [("global", 5), ("block", 9)]
    block = load_release_prior(third, latest, "block")
    assert block is not None and torch.allclose(block.mean, torch.full((1, 6), 0.4))
    inodes = {p.name: p.stat().st_ino for p in (source / BLOB_DIR).iterdir()}
    for name, inode in inodes.items():
        assert (third / BLOB_DIR / name).stat().st_ino == inode
    replaced = manifest.prior("block")
    assert replaced is not None
    assert not (third / BLOB_DIR / replaced.blob.sha256).exists()  # the old block prior
    assert latest.notes["prior_of"] == manifest.release_id


def test_a_wrong_key_publishes_nothing(release: Path, tmp_path: Path) -> None:
    releases = tmp_path / "releases"
    with pytest.raises(ReleaseError):
        publish_prior(
            release, prior(CoefficientLayout.GLOBAL, 0.2, 5), releases, generate_private_key()
        )
    assert not releases.exists() or not list(releases.iterdir())


def test_federation_settings_need_the_paths_and_a_cohort() -> None:
    needed = {"releases": "/r", "release-id": "r-1", "key": "/k"}
    settings = FederationSettings.from_config({"rounds": 2}, needed)
    assert settings.rounds == 2 and settings.min_people == 3 and settings.layout == "block"
    with pytest.raises(TastevecError, match="release-id"):
        FederationSettings.from_config({}, {"releases": "/r", "key": "/k"})
    with pytest.raises(TastevecError, match="min-people"):
        FederationSettings.from_config({"min-people": 1}, needed)
    with pytest.raises(TastevecError, match="publish-token-file"):
        FederationSettings.from_config({"publish-server": "127.0.0.1:50051"}, needed)
    served = FederationSettings.from_config(
        {"publish-server": "h:1", "publish-token-file": "/t", "publish-tls-ca": "/ca.pem"}, needed
    )
    assert (served.publish_server, served.publish_token_file) == ("h:1", "/t")
