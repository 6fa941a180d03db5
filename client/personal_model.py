"""The person's own model: the release's base with their coefficients merged in once, and
the profile's feature correction, if it has one, added to its score head.

Merged, it is a plain score model of the base's architecture and size (plus one linear layer
with a correction), so scoring costs what the base model costs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tastevec.client.feature_correction import CorrectedHead
from tastevec.client.personal_profile import Profile
from tastevec.client.release_cache import InstalledRelease
from tastevec.common.coefficients import parse_layout
from tastevec.common.composition import ComposedModel
from tastevec.common.errors import ProfileError
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector


def personal_model(release: InstalledRelease, profile: Profile, device: torch.device) -> ScoreModel:
    manifest = release.manifest
    if profile.release_id != manifest.release_id:
        raise ProfileError(
            f"profile was fitted for release {profile.release_id}, not {manifest.release_id}; "
            "run: tastevec-client fit"
        )
    base = load_release_model(release.root, manifest)
    vectors = load_release_task_vectors(release.root, manifest)
    return merged_model(base, vectors, profile).to(device).eval()


def merged_model(base: ScoreModel, vectors: Sequence[TaskVector], profile: Profile) -> ScoreModel:
    """`base` with the profile's coefficients merged in and its correction, if any, added."""
    sources = tuple(v.source for v in vectors)
    if sources != profile.sources:
        raise ProfileError(f"profile task vectors {profile.sources} differ from the release's")
    composed = ComposedModel(base, vectors, parse_layout(profile.layout))
    if composed.plan.groups != profile.groups:
        raise ProfileError(f"profile coefficient groups do not fit release {profile.release_id}")
    composed.set_coefficients(profile.coefficient_matrix())
    merged = composed.merge()
    assert isinstance(merged, ScoreModel)
    if profile.correction is not None:
        features = int(merged.backbone.num_features)  # type: ignore[arg-type]
        if len(profile.correction) != features:
            raise ProfileError(
                f"profile correction has {len(profile.correction)} weights; the backbone of "
                f"release {profile.release_id} has {features} features"
            )
        weights = torch.tensor(profile.correction, dtype=torch.float32)
        merged.head = CorrectedHead(merged.head, weights, profile.correction_bias)
    return merged.eval()
