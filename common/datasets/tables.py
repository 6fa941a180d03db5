"""Reading the databases' text tables with line numbers: CSV with a header, whitespace lists.

Structural problems (a missing file, a missing column, an undecodable file) always raise; a
bad value in one row goes to the caller's `BadRows`, which raises or skips by policy.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, where
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.errors import DatasetError


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DatasetError(f"{what} not found: {path}")
    return path


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{what} not found: {path}")
    return path


def _text_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
    return text.splitlines()


def read_csv(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each non-blank data row; header fields are stripped of spaces.

    Raises DatasetError when the header lacks one of `columns`. Row values are stripped; a row
    with fewer fields than the header yields the missing ones as "".
    """
    lines = _text_lines(require_file(path, "table"))
    rows = csv.reader(lines)
    try:
        header = [name.strip() for name in next(rows)]
    except StopIteration:
        raise DatasetError(
            f"{path}: empty file, expected a header with {', '.join(columns)}"
        ) from None
    except csv.Error as exc:
        raise DatasetError(f"{where(path, 1)}: unreadable CSV header ({exc})") from None
    missing = [name for name in columns if name not in header]
    if missing:
        raise DatasetError(
            f"{where(path, 1)}: missing column(s) {', '.join(missing)} "
            f"(header has: {', '.join(header)})"
        )
    line_number = 1
    while True:
        try:
            fields = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DatasetError(f"{where(path, rows.line_num)}: unreadable CSV ({exc})") from None
        line_number = rows.line_num
        if not any(value.strip() for value in fields):
            continue
        values = [value.strip() for value in fields]
        values += [""] * (len(header) - len(values))
        yield line_number, dict(zip(header, values, strict=False))


def read_fields(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, whitespace-separated fields) for each non-blank line."""
    for number, line in enumerate(_text_lines(require_file(path, "list")), start=1):
        fields = line.split()
        if fields:
            yield number, fields


def parse_score(
    text: str, scale: ScoreScale, bad: BadRows, path: Path, line: int, column: str
) -> tuple[float, float] | None:
    """(raw, normalised) from `text`, or None after reporting an unparsable or off-scale value."""
    try:
        raw = float(text)
    except ValueError:
        bad.report(path, line, f"{column} {text!r} is not a number")
        return None
    if not math.isfinite(raw) or not scale.contains(raw):
        bad.report(path, line, f"{column} {text} is outside the scale {scale.describe()}")
        return None
    return raw, scale.normalise(raw)
