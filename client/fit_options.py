"""What a person can choose about a fit, named without loading a model: the mode, and the
reference fit's number of steps (layouts are common/coefficients.py's). The command line
reads these to build its options, so that `--help`, `status` or `rate` never import torch."""

from __future__ import annotations

from enum import StrEnum

REFERENCE_STEPS = 500  # the paper's: AdamW, 500 steps of batches of 32


class FitMode(StrEnum):
    FAST = "fast"
    REFERENCE = "reference"
