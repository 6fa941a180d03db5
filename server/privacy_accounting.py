"""The run's differential-privacy budget, counted by Flower's RDP accountant (`flwr[dp]`).

Each published round is one Gaussian release of the cohort's clipped sum (sensitivity: the
clipping norm, one person added or removed). Its noise multiplier is the one the devices were
asked for, scaled by sqrt(survivors / cohort): each device adds 1/cohort of the variance, so a
round that lost devices carries less noise, and is counted with less. Every device of the
cohort is asked (no sampling), so no amplification by sampling is claimed. Epsilon is
cumulative over the run's rounds, at the run's `dp-delta`.
"""

from __future__ import annotations

import math

from tastevec.common.errors import TastevecError


class PrivacyBudget:
    def __init__(self, noise_multiplier: float, delta: float) -> None:
        self.noise_multiplier = noise_multiplier
        self.delta = delta
        self._events: list[tuple[float, int]] = []

    def effective_multiplier(self, cohort: int, survivors: int) -> float:
        return self.noise_multiplier * math.sqrt(survivors / cohort)

    def spend(self, cohort: int, survivors: int) -> float:
        """Count one published round; the run's epsilon so far."""
        self._events.append((self.effective_multiplier(cohort, survivors), survivors))
        return self.epsilon()

    def epsilon(self) -> float:
        try:
            from flwr.supercore.privacy_accounting import (
                GaussianPrivacyEvent,
                NeighboringRelation,
                PrivacyConfig,
                SamplingMethod,
            )
            from flwr.supercore.privacy_accounting.rdp_accountant import RdpAccountant

            population = max(people for _, people in self._events)
            accountant = RdpAccountant(
                PrivacyConfig(
                    target_delta=self.delta,
                    population_size=population,
                    neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE,
                    sampling_method=SamplingMethod.NO_AMPLIFICATION,
                )
            )
            for multiplier, people in self._events:
                accountant.compose(GaussianPrivacyEvent(multiplier, people, population))
            return accountant.get_epsilon(self.delta)
        except ImportError as exc:
            raise TastevecError(
                f"DP accounting needs flwr[dp] (pip install 'tastevec[dp]'): {exc}"
            ) from None
