"""Where tensors run: CUDA when present, the CPU otherwise."""

import torch


def default_device() -> torch.device:
    """The first CUDA device if one is usable, else the CPU. Never requires a GPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
