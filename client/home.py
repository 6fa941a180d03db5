"""A person's tastevec home: where one device user's releases, ratings and profiles live.

Every client command takes `--home DIR`; without it the home is `$TASTEVEC_HOME`, else
`$XDG_DATA_HOME/tastevec` (an absolute XDG_DATA_HOME only, as the XDG specification says),
else `~/.local/share/tastevec` with `~` from `$HOME` or, when HOME is empty, unset or not an
absolute path, from the user database. A home is never placed under the filesystem root by
an empty variable. Several people can share one machine, each with their own home.

The home and everything in it belong to its person alone: the folder is 0700 and the files
holding their data 0600, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from tastevec.common.errors import HomeError
from tastevec.common.os_inputs import make_private_dir

HOME_VARIABLE = "TASTEVEC_HOME"


def default_home() -> Path:
    if os.environ.get(HOME_VARIABLE):
        return Path(os.environ[HOME_VARIABLE]).expanduser()
    data = os.environ.get("XDG_DATA_HOME", "")
    if os.path.isabs(data):
        return Path(data) / "tastevec"
    return _user_home() / ".local" / "share" / "tastevec"


def _user_home() -> Path:
    """$HOME if it is an absolute path other than /, else the user database's home folder."""
    candidates = [os.environ.get("HOME", "")]
    with contextlib.suppress(KeyError):  # a uid without an entry (some containers)
        candidates.append(pwd.getpwuid(os.getuid()).pw_dir)
    for candidate in candidates:
        if os.path.isabs(candidate) and Path(candidate) != Path("/"):
            return Path(candidate)
    raise HomeError(
        "cannot place your tastevec home: HOME is empty, unset or the filesystem root, and "
        f"the user database names no home folder; give --home DIR or set {HOME_VARIABLE}"
    )


@dataclass(frozen=True, slots=True)
class Home:
    root: Path

    @classmethod
    def at(cls, path: str | Path | None) -> Home:
        """The home at `path` (default: default_home()); HomeError if it names a file or
        lies under one. It is not created: see `create`."""
        home = cls(Path(path).expanduser() if path else default_home())
        root = home.root
        if root.exists() and not root.is_dir():
            raise HomeError(f"tastevec home {root} is a file, not a folder; give another --home")
        for parent in root.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise HomeError(f"tastevec home {root} lies under {parent}, a file")
                break
        return home

    def create(self) -> Home:
        """Make the home folder if needed, private to its owner (0700, also if it existed)."""
        make_private_dir(self.root, error=HomeError, what="tastevec home")
        return self

    @property
    def ratings(self) -> Path:
        """The SQLite ratings database."""
        return self.root / "ratings.sqlite"

    @property
    def releases(self) -> Path:
        """Installed releases, one folder per release id, blobs hard-linked from `blobs`."""
        return self.root / "releases"

    @property
    def blobs(self) -> Path:
        """Content-addressed blobs shared by every installed release."""
        return self.root / "blobs"

    @property
    def profiles(self) -> Path:
        """Fitted profiles (coefficients), one file per release."""
        return self.root / "profiles"

    @property
    def thumbnails(self) -> Path:
        """Small copies of the person's photos made for their page (`forget` deletes them)."""
        return self.root / "thumbnails"

    @property
    def image_cache(self) -> Path:
        """Per-image values derived for fitting (private like the ratings; `forget` clears it)."""
        return self.root / "image-cache.sqlite"
