"""Small copies of the person's photos for the page, made once and kept in their home.

HOME/thumbnails/<size>/<key>.jpg, the key a digest of the photo's content, so a moved photo
keeps its thumbnail and a changed one gets a new one. Folders 0700, files 0600, written
atomically; `forget` (the command's or the page's) deletes them with everything else.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from tastevec.client.home import Home
from tastevec.common.atomic_file import write_atomic
from tastevec.common.digests import sha256_bytes
from tastevec.common.errors import ImageError, PageError
from tastevec.common.images import decode_image
from tastevec.common.os_inputs import PRIVATE_FILE_MODE, make_private_dir, read_regular_file

SIZES = {"thumb": 320, "view": 1280}  # longest side, pixels
THUMBNAIL_LIMIT = 16 * 2**20
QUALITY = 85


def thumbnails_folder(home: Home) -> Path:
    return home.thumbnails


def thumbnail(home: Home, data: bytes, path: Path, size: str) -> bytes:
    """The JPEG of the photo `data` (read from `path`) at `size`, from the cache or made now."""
    if size not in SIZES:
        raise PageError(f"no thumbnail size {size!r}")
    folder = thumbnails_folder(home) / size
    cached = folder / f"{sha256_bytes(data)[:32]}.jpg"
    if cached.is_file():
        return read_regular_file(cached, limit=THUMBNAIL_LIMIT, what="thumbnail", error=PageError)
    try:
        image = decode_image(data, path, min_side=SIZES[size])
    except ImageError as exc:
        raise PageError(str(exc)) from None
    image.thumbnail((SIZES[size], SIZES[size]), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    encoded = out.getvalue()
    make_private_dir(thumbnails_folder(home), error=PageError, what="thumbnails folder")
    make_private_dir(folder, error=PageError, what="thumbnails folder")
    write_atomic(cached, encoded, mode=PRIVATE_FILE_MODE)
    return encoded
