"""A person's tastevec home: where one device user's releases, ratings and profiles live.

Every client command takes `--home DIR`; without it the home is `$TASTEVEC_HOME`, else
`$XDG_DATA_HOME/tastevec` (`~/.local/share/tastevec`). Several people can share one machine,
each with their own home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_VARIABLE = "TASTEVEC_HOME"


def default_home() -> Path:
    if os.environ.get(HOME_VARIABLE):
        return Path(os.environ[HOME_VARIABLE])
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "tastevec"


@dataclass(frozen=True, slots=True)
class Home:
    root: Path

    @classmethod
    def at(cls, path: str | Path | None) -> Home:
        return cls(Path(path).expanduser() if path else default_home())

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
    def image_cache(self) -> Path:
        """Per-image values derived for fitting (private like the ratings; `forget` clears it)."""
        return self.root / "image-cache.sqlite"
