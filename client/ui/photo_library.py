"""The folders a person added to their page, and the photos in them: the only files the page
ever serves.

Each photo gets an opaque id (a digest of its resolved path); the page asks for photos by id
only, so no path from a request ever reaches the file system. A file counts as in a folder
only if its real path (links resolved) lies inside the folder's real path: a link that
leads out of the folder is left out when the folder is listed, and checked again whenever
the photo is read (it may have changed since). The list of folders is kept in the home
(`photo-folders.json`, private), so the next start shows the same collection.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from tastevec.client.home import Home
from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import ImageError, PageError
from tastevec.common.images import find_images, read_image_file
from tastevec.common.os_inputs import PRIVATE_FILE_MODE, read_regular_file

FOLDERS_FILE = "photo-folders.json"
FOLDERS_LIMIT = 1 << 20
_ID = re.compile(r"[0-9a-f]{24}")


def photo_id(path: Path) -> str:
    return hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Photo:
    id: str
    path: Path  # resolved
    folder: Path  # resolved


class PhotoLibrary:
    """The person's folders and their photos (thread-safe)."""

    def __init__(self, home: Home) -> None:
        self._file = home.root / FOLDERS_FILE
        self._lock = threading.Lock()
        self._folders: list[Path] = []
        self._photos: dict[str, Photo] = {}
        self.skipped: list[str] = []
        if self._file.exists():
            data = read_regular_file(
                self._file, limit=FOLDERS_LIMIT, what="photo folders list", error=PageError
            )
            try:
                saved = json.loads(data)
                folders = [Path(str(f)) for f in saved["folders"]]
            except (ValueError, KeyError, TypeError):
                raise PageError(f"photo folders list {self._file} is not readable JSON") from None
            for folder in folders:
                if folder.is_dir():
                    self._add(folder)

    def folders(self) -> list[Path]:
        with self._lock:
            return list(self._folders)

    def photos(self) -> list[Photo]:
        """Every photo, folder by folder, sorted by path within each."""
        with self._lock:
            return list(self._photos.values())

    def add(self, folder: Path) -> int:
        """Add a folder (and remember it); returns how many photos it holds. PageError for a
        path that is not a folder."""
        try:
            real = folder.expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            raise PageError(f"photo folder not found: {folder}") from None
        if not real.is_dir():
            raise PageError(f"{folder} is not a folder")
        count = self._add(real)
        self._save()
        return count

    def remove(self, folder: Path) -> None:
        with self._lock:
            if folder not in self._folders:
                raise PageError(f"{folder} is not one of your photo folders")
            self._folders.remove(folder)
            self._photos = {k: p for k, p in self._photos.items() if p.folder != folder}
        self._save()

    def _add(self, real: Path) -> int:
        try:
            found = find_images(real)
        except ImageError as exc:
            raise PageError(str(exc)) from None
        photos = []
        for path in found:
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                continue
            if not target.is_relative_to(real) or not target.is_file():
                self.skipped.append(f"{path}: leads outside {real}; left out")
                continue
            photos.append(Photo(photo_id(target), target, real))
        with self._lock:
            if real not in self._folders:
                self._folders.append(real)
            for photo in photos:
                self._photos.setdefault(photo.id, photo)
        return len(photos)

    def _save(self) -> None:
        document = {"folders": [str(f) for f in self.folders()]}
        write_atomic(self._file, json.dumps(document).encode(), mode=PRIVATE_FILE_MODE)

    def get(self, ident: str) -> Photo:
        """The photo with this id, still inside its folder; PageError otherwise."""
        if not _ID.fullmatch(ident):
            raise PageError("no such photo")
        with self._lock:
            photo = self._photos.get(ident)
        if photo is None:
            raise PageError("no such photo")
        try:
            target = photo.path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise PageError(f"photo {photo.path} is no longer there") from None
        if target != photo.path or not target.is_relative_to(photo.folder):
            raise PageError(f"photo {photo.path} now leads outside {photo.folder}")
        return photo

    def read(self, ident: str) -> tuple[Photo, bytes]:
        """A photo's bytes, read once as a regular file within the image limit."""
        photo = self.get(ident)
        try:
            return photo, read_image_file(photo.path)
        except ImageError as exc:
            raise PageError(str(exc)) from None
