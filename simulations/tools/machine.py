"""A description of the machine a benchmark ran on, for its report."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def describe_machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f"{kib / 2**20:.1f} GiB"
    description = {
        "cpu": cpu,
        "cpu cores (os.cpu_count)": str(os.cpu_count()),
        "torch threads": str(torch.get_num_threads()),
        "memory": memory,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": "cpu",
    }
    if torch.cuda.is_available():
        description["device"] = f"cuda ({torch.cuda.get_device_name(0)})"
    return description


def machine_table(description: dict[str, str]) -> list[str]:
    return ["| machine | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in description.items()]
