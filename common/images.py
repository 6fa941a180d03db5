"""Safe image decoding with Pillow, and streamed, batched loading of large folders.

`load_image` turns every failure a user can cause (missing, empty, corrupt or truncated file,
non-image, decompression bomb) into a one-line `ImageError` that names the file. Only the
formats in `IMAGE_SUFFIXES` are decoded (by content, not by suffix), so Pillow's riskier
plugins (EPS via Ghostscript, ...) are never reached. Pillow's global settings
(`Image.MAX_IMAGE_PIXELS`, `ImageFile.LOAD_TRUNCATED_IMAGES`) are read, never changed.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import stat
import struct
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from tastevec.common.errors import ImageError
from tastevec.common.os_inputs import describe_file_type, read_regular_file

if TYPE_CHECKING:  # torch loads only where images are batched, not for a decode
    import torch

logger = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's default Image.MAX_IMAGE_PIXELS
# Largest image file read: a 12-megapixel JPEG is 3-10 MB, an 89-megapixel 8-bit TIFF 270 MB.
MAX_IMAGE_BYTES = 512 * 2**20
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")  # JPEG also yields MPO
_DECODE_WORKERS = 2
# warnings.catch_warnings swaps process-global state and is not thread-safe before Python 3.14;
# the lock covers only Image.open (header parsing), so pixel decoding still runs in parallel.
_WARNINGS_LOCK = threading.Lock()
# What Pillow raises on bad data; an OSError with an errno is the file system's instead.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)


def _error(message: str) -> ImageError:
    return ImageError(message.replace("\r", "\\r").replace("\n", "\\n"))


def read_image_file(path: str | Path) -> bytes:
    """The bytes of the image file at `path`, read once: a regular file (links followed) of
    at most MAX_IMAGE_BYTES, never a FIFO or device. ImageError (naming the file) otherwise.

    Hash and decode these same bytes (`decode_image`), so that what is decoded is what was
    hashed, even if the file changes meanwhile."""
    path = Path(path)
    if "\x00" in str(path):  # the OS would refuse it with a ValueError
        raise _error(f"image path {str(path)!r} contains a NUL character")
    data = read_regular_file(path, limit=MAX_IMAGE_BYTES, what="image", error=ImageError)
    if not data:
        raise _error(f"cannot decode image {path}: file is empty")
    return data


def _open_checked(data: bytes, path: Path, max_pixels: int) -> ImageFile.ImageFile:
    """Open lazily (header only) and refuse oversized images before any pixel is decoded.

    Pillow warns (DecompressionBombWarning) above its own MAX_IMAGE_PIXELS; that warning is
    silenced here and the same condition refused below, so the lower of the two limits wins.
    """
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    width, height = image.size
    if width * height > limit:
        image.close()
        raise _error(
            f"image {path} is {width}x{height} = {width * height} pixels, above the limit of "
            f"{limit} (decompression bomb?)"
        )
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB with 8 bits per channel. Transparency is composited onto white (converting directly
    would expose whatever colour hides under alpha = 0, often black); 16-bit and 32-bit
    greyscale is scaled from its full range, float greyscale from [0, 1] when it fits there."""
    if image.mode.startswith("I") or image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float32))
        top = float(values.max(initial=0.0))
        if image.mode.startswith("I;16") or (image.mode == "I" and top > 255):
            values = values / 257.0
        elif image.mode == "F" and top <= 1.0:
            values = values * 255.0
        image = Image.fromarray(np.clip(values, 0, 255).round().astype(np.uint8))
    if "transparency" in image.info and image.mode in ("P", "L", "RGB"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def load_image(
    path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int | None = None
) -> Image.Image:
    """Decode `path` into a detached RGB image (file closed), EXIF orientation applied.

    Raises ImageError (one line, naming the file) for anything wrong with the file, and
    ValueError for max_pixels < 1. The pixel limit is also capped by Pillow's own
    `Image.MAX_IMAGE_PIXELS` (which Pillow enforces while opening). `min_side`: see
    `decode_image`.
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    data = read_image_file(path)
    return decode_image(data, Path(path), max_pixels=max_pixels, min_side=min_side)


def decode_image(
    data: bytes,
    path: Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int | None = None,
) -> Image.Image:
    """Decode the image file bytes `data` (read from `path`, which messages name) as
    `load_image` does.

    With `min_side`, a JPEG may be decoded at a reduced scale (1/2, 1/4 or 1/8, by the
    decoder's own DCT scaling) as long as both sides stay at least `min_side` pixels: what a
    model that resizes the short side to `min_side` needs, at a fraction of the cost (a
    12-megapixel photo decodes about 8x faster at 1/8). Other formats decode whole."""
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    if min_side is not None and min_side < 1:
        raise ValueError(f"min_side must be >= 1, got {min_side}")
    try:
        with _open_checked(data, path, max_pixels) as source:
            if min_side is not None and source.format in ("JPEG", "MPO"):
                source.draft("RGB", (min_side, min_side))
            source.load()
            oriented = ImageOps.exif_transpose(source)  # always a new image
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise _error(
            f"image {path} is above Pillow's pixel limit (decompression bomb?): {exc}"
        ) from None
    except UnidentifiedImageError:
        raise _error(f"cannot decode image {path}: not an image (unidentified format)") from None
    except _DECODE_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise _error(f"cannot read image {path}: {exc.strerror or exc}") from None
        raise _error(f"cannot decode image {path}: truncated or corrupt data ({exc})") from None
    try:
        return _to_rgb(oriented)
    except (ValueError, OSError) as exc:
        raise _error(f"cannot convert image {path} (mode {oriented.mode}) to RGB: {exc}") from None


def check_image(data: bytes, path: Path) -> None:
    """ImageError unless the image file bytes `data` (read from `path`) decode: all of the
    data is decoded, at the smallest scale the format allows (a JPEG's every coefficient is
    still read, so a truncated or corrupt file is refused as by a whole decode)."""
    decode_image(data, path, min_side=1)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def find_images(root: str | Path) -> list[Path]:
    """`root` if it is an image file; else every image file below the folder `root`, sorted,
    skipping hidden files and folders (names starting with "."); symlinked folders are not
    followed. Raises ImageError for a missing path or a non-image file."""
    root = Path(root)
    try:
        mode = root.stat().st_mode
    except FileNotFoundError:
        raise _error(f"image path not found: {root}") from None
    except OSError as exc:
        raise _error(f"cannot read image path {root}: {exc.strerror or exc}") from None
    if stat.S_ISREG(mode):
        if not _is_image(root):
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise _error(f"{root} is not an image file (expected one of {suffixes})")
        return [root]
    if not stat.S_ISDIR(mode):
        raise _error(f"image path {root} is {describe_file_type(mode)}; need an image or a folder")
    found: list[Path] = []
    for folder, dirnames, filenames in os.walk(root, onerror=_warn_unlistable):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        found.extend(
            Path(folder, name)
            for name in filenames
            if not name.startswith(".") and _is_image(Path(name))
        )
    return sorted(found)


def _warn_unlistable(exc: OSError) -> None:
    logger.warning("cannot list %s: %s", exc.filename, exc.strerror or exc)


@dataclass(frozen=True, slots=True)
class ImageBatch:
    """Decoded images [n, 3, H, W] in input order, their paths, and files skipped since the
    previous batch as (path, one-line reason)."""

    images: torch.Tensor
    paths: tuple[Path, ...]
    skipped: tuple[tuple[Path, str], ...] = ()


def iter_image_batches(
    paths: Iterable[str | Path],
    transform: Callable[[Image.Image], torch.Tensor],
    *,
    batch_size: int = 32,
    skip_errors: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int | None = None,
) -> Iterator[ImageBatch]:
    """Stream `paths` (consumed lazily) as batches of `batch_size` transformed images, each
    decoded at no less than `min_side` pixels a side where the format allows (`decode_image`).

    Two threads decode and transform up to 2 * batch_size images ahead. With skip_errors=False
    the first bad file (in input order) raises its ImageError. With skip_errors=True a bad
    file is reported in `skipped` of the next batch yielded after it; every batch except the
    last holds exactly batch_size images. If skips remain after the last image, a final batch
    with `images` of shape (0,) and no paths reports them. Errors from `transform` propagate.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    if min_side is not None and min_side < 1:
        raise ValueError(f"min_side must be >= 1, got {min_side}")
    return _batches(iter(paths), transform, batch_size, skip_errors, max_pixels, min_side)


def _batches(
    paths: Iterator[str | Path],
    transform: Callable[[Image.Image], torch.Tensor],
    batch_size: int,
    skip_errors: bool,
    max_pixels: int,
    min_side: int | None,
) -> Iterator[ImageBatch]:
    def work(path: Path) -> torch.Tensor:
        return transform(load_image(path, max_pixels=max_pixels, min_side=min_side))

    window = 2 * batch_size
    pending: deque[tuple[Path, Future[torch.Tensor]]] = deque()
    images: list[torch.Tensor] = []
    names: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    executor = ThreadPoolExecutor(_DECODE_WORKERS, thread_name_prefix="tastevec-decode")
    try:
        while True:
            for path in itertools.islice(map(Path, paths), window - len(pending)):
                pending.append((path, executor.submit(work, path)))
            if not pending:
                break
            path, future = pending.popleft()
            try:
                images.append(future.result())
                names.append(path)
            except ImageError as exc:
                if not skip_errors:
                    raise
                logger.debug("skipping: %s", exc)  # the caller reports `skipped`
                skipped.append((path, str(exc)))
            if len(images) == batch_size:
                yield _make_batch(images, names, skipped)
                images, names, skipped = [], [], []
        if images or skipped:
            yield _make_batch(images, names, skipped)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _make_batch(
    images: list[torch.Tensor], names: list[Path], skipped: list[tuple[Path, str]]
) -> ImageBatch:
    import torch

    if not images:
        return ImageBatch(torch.empty(0), (), tuple(skipped))
    try:
        stacked = torch.stack(images)
    except RuntimeError as exc:
        raise ValueError(
            f"transform must return equal-shaped tensors (batch from {names[0]}): {exc}"
        ) from None
    if stacked.ndim != 4 or stacked.shape[1] != 3:
        raise ValueError(f"transform must return [3, H, W] tensors, got {tuple(stacked.shape[1:])}")
    return ImageBatch(stacked, tuple(names), tuple(skipped))
