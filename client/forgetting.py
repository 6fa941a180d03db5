"""`forget`: delete everything a person's home holds about them — ratings, profiles, the
image cache and the page's thumbnails — and always succeed at deleting.

The ratings go first, in one transaction that also stops any import running meanwhile (see
RatingsStore.forget). A ratings database that cannot be opened as one (damaged, of another
kind, not a regular file) is deleted as a file instead: its bytes are overwritten with zeros
first, so that the scores and paths it held do not linger on disk. Every step is tried even
when an earlier one failed; what could not be deleted is named at the end.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from tastevec.client.home import Home
from tastevec.client.image_cache import delete_cache
from tastevec.client.ratings_store import RatingsBusyError, RatingsStore
from tastevec.common.errors import RatingsError, TastevecError

logger = logging.getLogger(__name__)

_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What `forget_home` deleted: `ratings` counted (None: the database was unreadable and
    deleted as a file, `damaged` says why), `profiles` files, and the image cache."""

    ratings: int | None
    profiles: int
    damaged: str | None = None

    def lines(self) -> list[str]:
        if self.ratings is None:
            first = f"deleted the unreadable ratings database ({self.damaged})"
        else:
            first = f"deleted {self.ratings} rating{'s' if self.ratings != 1 else ''}"
        profiles = f"{self.profiles} profile{'s' if self.profiles != 1 else ''}"
        return [f"{first}, {profiles} and the image cache"]


def forget_home(home: Home) -> ForgetReport:
    """Delete the ratings, profiles and image cache of `home`. RatingsError naming what could
    not be deleted, after every other step has been done."""
    failures: list[str] = []
    ratings: int | None = 0
    damaged = None
    try:
        ratings, damaged = _forget_ratings(home.ratings)
    except TastevecError as exc:
        failures.append(str(exc))
    profiles = 0
    try:
        profiles = _delete_profiles(home.profiles)
    except TastevecError as exc:
        failures.append(str(exc))
    try:
        delete_cache(home.image_cache)
    except TastevecError as exc:
        failures.append(str(exc))
    try:
        shutil.rmtree(home.thumbnails)  # the page's copies of the photos
    except FileNotFoundError:
        pass
    except OSError as exc:
        failures.append(f"cannot delete thumbnails {home.thumbnails}: {exc.strerror or exc}")
    if failures:
        raise RatingsError("forget could not delete everything: " + "; ".join(failures))
    return ForgetReport(ratings, profiles, damaged)


def _forget_ratings(path: Path) -> tuple[int | None, str | None]:
    if not path.exists() and not path.is_symlink():
        _wipe_files(path)  # a log file left without its database
        return 0, None
    try:
        with RatingsStore.open(path) as store:
            return store.forget(), None
    except RatingsBusyError:
        raise  # in use, not damaged: deleting it under a running command would lose its work
    except RatingsError as exc:
        logger.warning("deleting unreadable ratings database %s: %s", path, exc)
        _wipe_files(path)
        return None, str(exc)


def _wipe_files(path: Path) -> None:
    """Overwrite with zeros and delete the SQLite file at `path` and its companions; links,
    FIFOs and devices are only unlinked (never written to)."""
    for suffix in _SQLITE_COMPANIONS:
        name = Path(f"{path}{suffix}")
        try:
            info = name.lstat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise RatingsError(f"cannot delete {name}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            raise RatingsError(f"cannot delete {name}: it is a folder, not a ratings database")
        try:
            if stat.S_ISREG(info.st_mode):
                _zero(name, info.st_size)
            name.unlink()
        except OSError as exc:
            raise RatingsError(f"cannot delete {name}: {exc.strerror or exc}") from None


def _zero(path: Path, size: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        chunk = b"\0" * (1 << 20)
        left = size
        while left > 0:
            left -= os.write(descriptor, chunk[: min(left, len(chunk))])
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _delete_profiles(folder: Path) -> int:
    """Delete every profile (and any half-written one) in `folder`; how many profiles."""
    if not folder.is_dir():
        return 0
    deleted = 0
    for path in sorted(folder.iterdir()):
        if not (path.name.endswith(".json") or path.name.endswith(".tmp")):
            continue
        try:
            path.unlink()
        except OSError as exc:
            raise RatingsError(f"cannot delete profile {path}: {exc.strerror or exc}") from None
        deleted += path.suffix == ".json"
    return deleted
