"""Which model scores a person's photos: their own (their profile for the current release),
else the population's default.

The default, before a first fit: with a population prior in the release, its mean (the
device's default layout first); else the plain average of the task vectors, which is the
paper's starting point without a person: softmax(10 x zero-shot SROCC) gives every task
vector the same weight when nothing is known of how each ranks the person's photos.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tastevec.client.home import Home
from tastevec.client.personal_model import merged_model
from tastevec.client.personal_profile import Profile, load_profile, profile_path
from tastevec.client.release_cache import InstalledRelease
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import composed_tensor_names
from tastevec.common.errors import ReleaseError
from tastevec.common.release_model import (
    load_release_model,
    load_release_prior,
    load_release_task_vectors,
)
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector

DEFAULT_MODE = "default"  # Profile.mode of a profile no one fitted
_LAYOUTS = (CoefficientLayout.BLOCK, CoefficientLayout.GLOBAL, CoefficientLayout.TENSOR)


def scoring_model(
    home: Home, release: InstalledRelease, device: torch.device
) -> tuple[ScoreModel, str | None]:
    """The person's model for `release` on `device`, and None; or, when they have no profile
    for it yet, the population's default model and a line saying so."""
    base = load_release_model(release.root, release.manifest)
    vectors = load_release_task_vectors(release.root, release.manifest)
    release_id = release.manifest.release_id
    if profile_path(home.profiles, release_id).exists():
        profile = load_profile(home.profiles, release_id)  # an unreadable one is an error
        return merged_model(base, vectors, profile).to(device).eval(), None
    profile, described = default_profile(release, base, vectors)
    others = sorted(p.stem for p in home.profiles.glob("*.json")) if home.profiles.is_dir() else []
    if others:
        why = f"your profile was fitted for release {others[-1]}, not the current {release_id}"
        advice = "run tastevec-client fit to fit it again"
    else:
        why = f"no profile fitted for release {release_id} yet"
        advice = "rate some photos and run tastevec-client fit for your own"
    note = f"{why}: scoring with the population's default model, {described}; {advice}"
    return merged_model(base, vectors, profile).to(device).eval(), note


def default_profile(
    release: InstalledRelease, base: ScoreModel, vectors: Sequence[TaskVector]
) -> tuple[Profile, str]:
    """The population's default profile for `release`, and a line saying what it is."""
    manifest = release.manifest
    names = composed_tensor_names(base.state_dict(), vectors)
    for layout in _LAYOUTS:
        prior = load_release_prior(release.root, manifest, layout.value)
        if prior is not None:
            coefficients = prior.mean
            described = f"the population prior's mean ({prior.people} people, {layout} layout)"
            break
    else:
        layout = CoefficientLayout.GLOBAL
        coefficients = torch.full((1, len(vectors)), 1.0 / len(vectors))
        described = (
            f"the plain average of the {len(vectors)} task vectors (the paper's starting "
            "point without your ratings)"
        )
    plan = CoefficientPlan.for_tensors(layout, names)
    if tuple(coefficients.shape) != (plan.num_groups, len(vectors)):
        raise ReleaseError(
            f"release {manifest.release_id}: its {layout} prior is {tuple(coefficients.shape)}, "
            f"the model has {plan.num_groups} groups x {len(vectors)} task vectors"
        )
    profile = Profile(
        release_id=manifest.release_id,
        mode=DEFAULT_MODE,
        layout=layout.value,
        sources=tuple(v.source for v in vectors),
        groups=plan.groups,
        coefficients=tuple(tuple(float(v) for v in row) for row in coefficients.tolist()),
        fitted_at=manifest.created,
        ratings=0,
    )
    return profile, described
