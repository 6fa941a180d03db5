"""Placing the world's images into a database's folder layout, and writing its tables."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from tastevec.common.atomic_file import write_atomic


def place_image(source: Path, destination: Path) -> None:
    """A hard link to the pooled image (no copy), or a copy where links are not possible."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        destination.unlink()
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue().encode())


def write_lines(path: Path, lines: Iterable[str]) -> None:
    write_atomic(path, "".join(f"{line}\n" for line in lines).encode())


def decimal(value: float, digits: int = 4) -> str:
    """A score as the databases write it: fixed decimals, no exponent."""
    return f"{value:.{digits}f}"
