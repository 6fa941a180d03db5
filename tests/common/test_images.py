"""Tests for tastevec.common.images: safe decoding, folder discovery, batched streaming."""

from __future__ import annotations

import os
import struct
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tastevec.common.errors import ImageError, TastevecError
from tastevec.common.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    ImageBatch,
    check_image,
    decode_image,
    find_images,
    iter_image_batches,
    load_image,
)


def _to_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(img.resize((16, 16)))).permute(2, 0, 1).float()


def _solid(path: Path, value: int, size: tuple[int, int] = (8, 8)) -> Path:
    Image.new("RGB", size, (value, value, value)).save(path)
    return path


def _jpeg_bytes(tmp_path: Path) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = tmp_path / "real.jpg"
    Image.fromarray(pixels).save(path, quality=90)
    return path.read_bytes()


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A valid PNG header claiming width x height, with (almost) no pixel data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def _assert_one_line_naming(exc: pytest.ExceptionInfo[ImageError], path: Path) -> str:
    message = str(exc.value)
    assert str(path) in message
    assert "\n" not in message and "\r" not in message
    assert isinstance(exc.value, TastevecError)
    return message


@pytest.fixture(autouse=True)
def _pillow_globals_unchanged() -> Iterator[None]:
    before_limit, before_filters = Image.MAX_IMAGE_PIXELS, list(warnings.filters)
    yield
    assert Image.MAX_IMAGE_PIXELS == before_limit == DEFAULT_MAX_PIXELS
    assert list(warnings.filters) == before_filters
    assert not [t for t in threading.enumerate() if t.name.startswith("tastevec-decode")]


# ---- load_image: good inputs ------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".bmp", ".tiff", ".gif"])
def test_round_trip_gives_rgb_of_the_right_size(tmp_path: Path, suffix: str) -> None:
    path = _solid(tmp_path / f"a{suffix}", 200, size=(30, 20))
    img = load_image(path)
    assert (img.mode, img.size) == ("RGB", (30, 20))
    assert abs(int(np.asarray(img)[10, 15, 0]) - 200) <= 3


def test_greyscale_png_becomes_rgb(tmp_path: Path) -> None:
    Image.new("L", (5, 4), 77).save(tmp_path / "g.png")
    arr = np.asarray(load_image(str(tmp_path / "g.png")))
    assert arr.shape == (4, 5, 3) and (arr == 77).all()


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    rgba.save(tmp_path / "rgba.png")
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    palette.putpixel((0, 0), 0)
    palette.save(tmp_path / "p.png", transparency=0)
    for name, colour in (("rgba.png", (255, 0, 0)), ("p.png", (0, 0, 255))):
        img = load_image(tmp_path / name)
        assert img.mode == "RGB"
        assert img.getpixel((0, 0)) == (255, 255, 255)
        assert img.getpixel((3, 3)) == colour


def test_16_bit_greyscale_is_scaled_to_8_bit(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as raw:
        assert raw.mode.startswith("I;16")
    arr = np.asarray(load_image(tmp_path / "deep.png"))
    assert arr[0, :, 0].tolist() == [0, 100, 255]


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_image(tmp_path / "rotated.jpg").size == (20, 40)


def _photo(path: Path, size: tuple[int, int], mode: str = "RGB", **save: object) -> Path:
    """A smooth gradient (so that reduced decodes stay close to full ones) saved at `size`."""
    x = np.linspace(0, 255, size[0])[None, :, None]
    y = np.linspace(0, 255, size[1])[:, None, None]
    pixels = np.concatenate([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2).astype(np.uint8)
    Image.fromarray(pixels).convert(mode).save(path, **save)  # type: ignore[arg-type]
    return path


@pytest.mark.parametrize(
    ("size", "min_side", "decoded"),
    [
        ((1600, 1200), 150, (200, 150)),  # 1/8 keeps both sides >= 150
        ((1600, 1200), 256, (400, 300)),  # 1/4: 1/8 would be 150 high
        ((1600, 1200), 550, (800, 600)),  # 1/2
        ((1600, 1200), 1000, (1600, 1200)),  # no reduction
        ((1200, 1600), 256, (300, 400)),  # portrait: the short side counts
    ],
)
def test_a_jpeg_decodes_reduced_but_never_below_min_side(
    tmp_path: Path, size: tuple[int, int], min_side: int, decoded: tuple[int, int]
) -> None:
    path = _photo(tmp_path / "big.jpg", size, quality=90)
    image = load_image(path, min_side=min_side)
    assert image.size == decoded and image.mode == "RGB"
    whole = load_image(path).resize(decoded, Image.Resampling.BOX)
    gap = np.abs(np.asarray(image, np.int16) - np.asarray(whole, np.int16))
    assert gap.mean() < 2.0  # the same picture, by the decoder's own scaling


def test_reduced_decoding_keeps_orientation_and_converts_other_jpeg_modes(tmp_path: Path) -> None:
    img = Image.new("RGB", (1600, 800), (10, 20, 30))
    exif = img.getexif()
    exif[0x0112] = 6  # rotated 90 degrees: stored 1600 x 800, shown 800 x 1600
    img.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_image(tmp_path / "rotated.jpg", min_side=100).size == (100, 200)
    for mode in ("L", "CMYK"):
        path = _photo(tmp_path / f"{mode}.jpg", (800, 800), mode=mode)
        image = load_image(path, min_side=100)
        assert image.mode == "RGB" and min(image.size) >= 100


def test_min_side_leaves_other_formats_whole_and_refuses_nonsense(tmp_path: Path) -> None:
    path = _photo(tmp_path / "big.png", (800, 600))
    assert load_image(path, min_side=100).size == (800, 600)
    with pytest.raises(ValueError, match="min_side"):
        load_image(path, min_side=0)
    with pytest.raises(ValueError, match="min_side"):
        iter_image_batches([path], _to_tensor, min_side=0)


def test_a_truncated_jpeg_is_refused_at_a_reduced_scale_too(tmp_path: Path) -> None:
    path = _photo(tmp_path / "cut.jpg", (1600, 1200), quality=90)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageError, match="truncated") as exc:
        load_image(path, min_side=150)
    _assert_one_line_naming(exc, path)


def test_check_image_refuses_what_a_whole_decode_refuses(tmp_path: Path) -> None:
    good = _photo(tmp_path / "good.jpg", (1600, 1200), quality=90)
    check_image(good.read_bytes(), good)
    data = good.read_bytes()
    cut = data[: len(data) // 2]
    garbled = data[:600] + bytes(range(256)) * 16
    for name, bad in (("cut.jpg", cut), ("garbled.jpg", garbled)):
        with pytest.raises(ImageError):
            decode_image(bad, tmp_path / name)  # a whole decode refuses it
        with pytest.raises(ImageError) as exc:
            check_image(bad, tmp_path / name)
        _assert_one_line_naming(exc, tmp_path / name)


def test_batches_decode_at_min_side(tmp_path: Path) -> None:
    paths = [_photo(tmp_path / f"{i}.jpg", (1600, 1200)) for i in range(3)]
    sizes: list[tuple[int, int]] = []

    def record(image: Image.Image) -> torch.Tensor:
        sizes.append(image.size)
        return _to_tensor(image)

    (batch,) = iter_image_batches(paths, record, batch_size=4, min_side=150)
    assert len(batch.paths) == 3 and sizes == [(200, 150)] * 3


def test_result_is_detached_from_the_file(tmp_path: Path) -> None:
    path = _solid(tmp_path / "a.png", 5)
    img = load_image(path)
    path.unlink()
    assert img.getpixel((0, 0)) == (5, 5, 5)


def test_content_decides_format_not_suffix(tmp_path: Path) -> None:
    Image.new("RGB", (3, 3)).save(tmp_path / "png_inside.jpg", format="PNG")
    assert load_image(tmp_path / "png_inside.jpg").size == (3, 3)
    Image.new("RGB", (3, 3)).save(tmp_path / "ppm_inside.jpg", format="PPM")
    with pytest.raises(ImageError, match="unidentified format"):
        load_image(tmp_path / "ppm_inside.jpg")  # formats outside IMAGE_SUFFIXES are refused


# ---- load_image: bad inputs -------------------------------------------------------------


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty.jpg").touch()
    return tmp_path / "empty.jpg"


def _text(tmp_path: Path) -> Path:
    (tmp_path / "notes.jpg").write_text("hello\nworld\n")
    return tmp_path / "notes.jpg"


def _truncated(tmp_path: Path) -> Path:
    data = _jpeg_bytes(tmp_path)
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    return tmp_path / "half.jpg"


def _random(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    (tmp_path / "noise.png").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return tmp_path / "noise.png"


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "folder.jpg").mkdir()
    return tmp_path / "folder.jpg"


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "missing.jpg"


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe.jpg")  # opening it plainly would block for a writer
    return tmp_path / "pipe.jpg"


def _endless(tmp_path: Path) -> Path:
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    return tmp_path / "zero.jpg"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_empty, "file is empty"),
        (_text, "not an image (unidentified format)"),
        (_truncated, "truncated or corrupt data"),
        (_random, "cannot decode image"),
        (_directory, "is a folder"),
        (_missing, "image not found"),
        (_fifo, "is a FIFO (named pipe); need a regular file"),
        (_endless, "is a device; need a regular file"),
    ],
)
def test_bad_input_raises_one_line_image_error(
    tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(ImageError) as exc:
        load_image(path)
    assert expected in _assert_one_line_naming(exc, path)


def test_pixel_limit_on_a_real_image(tmp_path: Path) -> None:
    path = _solid(tmp_path / "small.png", 9, size=(20, 20))
    with pytest.raises(ImageError) as exc:
        load_image(path, max_pixels=100)
    message = _assert_one_line_naming(exc, path)
    assert "20x20 = 400 pixels, above the limit of 100 (decompression bomb?)" in message
    assert load_image(path, max_pixels=400).size == (20, 20)


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    # No pixel data exists: decoding would report truncation, so the size check came first.
    path = _png_header_only(tmp_path / "claims.png", 1000, 1000)
    with pytest.raises(ImageError, match=r"1000x1000 = 1000000 pixels, above the limit of 1 "):
        load_image(path, max_pixels=1)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(path)


@pytest.mark.parametrize("side", [10_000, 20_000])
@pytest.mark.parametrize("max_pixels", [DEFAULT_MAX_PIXELS, 10**12])
def test_decompression_bomb_header(tmp_path: Path, side: int, max_pixels: int) -> None:
    # 10_000^2 is where Pillow only warns; 20_000^2 is where Pillow raises. Both are refused,
    # even when the caller's limit is above Pillow's.
    path = _png_header_only(tmp_path / "bomb.png", side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning may escape
        with pytest.raises(ImageError, match="decompression bomb") as exc:
            load_image(path, max_pixels=max_pixels)
    _assert_one_line_naming(exc, path)


def test_invalid_max_pixels_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(_solid(tmp_path / "a.png", 1), max_pixels=0)


# ---- find_images ------------------------------------------------------------------------


def test_find_images_recursive_sorted_skips_hidden(tmp_path: Path) -> None:
    for rel in ["b.JPG", "a.png", "sub/c.Jpeg", "sub/deeper/d.webp", "sub/e.TIFF", "f.gif"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    for rel in [".hidden.jpg", ".cache/x.jpg", "sub/.git/y.png", "notes.txt", "sub/raw.cr2"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    found = find_images(tmp_path)
    assert found == sorted(found)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.png",
        "b.JPG",
        "f.gif",
        "sub/c.Jpeg",
        "sub/deeper/d.webp",
        "sub/e.TIFF",
    ]
    assert find_images(str(tmp_path / "sub" / "deeper")) == [tmp_path / "sub/deeper/d.webp"]


def test_find_images_file_argument(tmp_path: Path) -> None:
    (tmp_path / "one.PNG").touch()
    assert find_images(tmp_path / "one.PNG") == [tmp_path / "one.PNG"]
    (tmp_path / "doc.txt").touch()
    with pytest.raises(ImageError, match="not an image file") as exc:
        find_images(tmp_path / "doc.txt")
    _assert_one_line_naming(exc, tmp_path / "doc.txt")
    assert {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"} == IMAGE_SUFFIXES


def test_find_images_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not found") as exc:
        find_images(tmp_path / "nowhere")
    _assert_one_line_naming(exc, tmp_path / "nowhere")
    assert find_images(tmp_path) == []


# ---- iter_image_batches -----------------------------------------------------------------


@pytest.fixture
def seventy(tmp_path: Path) -> list[Path]:
    """70 PNGs; image i is solid grey with value i, so order is visible in the tensors."""
    return [_solid(tmp_path / f"img{i:03d}.png", i) for i in range(70)]


def _values(batch: ImageBatch) -> list[int]:
    return batch.images[:, 0, 0, 0].round().int().tolist()


def test_batches_of_32_32_6_in_input_order(seventy: list[Path]) -> None:
    batches = list(iter_image_batches(seventy, _to_tensor, batch_size=32))
    assert [len(b.paths) for b in batches] == [32, 32, 6]
    assert [b.images.shape[0] for b in batches] == [32, 32, 6]
    assert batches[0].images.shape[1:] == (3, 16, 16)
    assert [p for b in batches for p in b.paths] == seventy
    assert [v for b in batches for v in _values(b)] == list(range(70))
    assert all(b.skipped == () for b in batches)


def test_skip_errors_reports_bad_files_and_keeps_order(seventy: list[Path]) -> None:
    seventy[5].write_bytes(b"not an image")
    seventy[40].write_bytes(seventy[40].read_bytes()[:20])
    batches = list(iter_image_batches(seventy, _to_tensor, batch_size=32, skip_errors=True))
    assert [len(b.paths) for b in batches] == [32, 32, 4]
    good = [i for i in range(70) if i not in (5, 40)]
    assert [v for b in batches for v in _values(b)] == good
    assert [p for b in batches for p in b.paths] == [seventy[i] for i in good]
    assert [[p for p, _ in b.skipped] for b in batches] == [[seventy[5]], [seventy[40]], []]
    for path, reason in batches[0].skipped + batches[1].skipped:
        assert str(path) in reason and "\n" not in reason


def test_trailing_skips_come_in_a_final_empty_batch(seventy: list[Path]) -> None:
    for path in seventy[-3:]:
        path.write_bytes(b"")
    batches = list(iter_image_batches(seventy[-7:], _to_tensor, batch_size=4, skip_errors=True))
    assert [len(b.paths) for b in batches] == [4, 0]
    assert batches[1].images.shape == (0,)
    assert [p for p, _ in batches[1].skipped] == seventy[-3:]


def test_without_skip_errors_the_first_bad_file_raises(seventy: list[Path]) -> None:
    seventy[33].write_bytes(b"garbage")
    seventy[50].write_bytes(b"")
    batches = iter_image_batches(seventy, _to_tensor, batch_size=32)
    assert len(next(batches).paths) == 32
    with pytest.raises(ImageError) as exc:
        next(batches)
    _assert_one_line_naming(exc, seventy[33])


def test_lazy_generator_is_not_listed(seventy: list[Path]) -> None:
    pulled = 0

    def paths() -> Iterator[Path]:
        nonlocal pulled
        for _ in range(10_000):
            pulled += 1
            yield seventy[0]

    batches = iter_image_batches(paths(), _to_tensor, batch_size=4)
    first = next(batches)
    assert len(first.paths) == 4
    assert pulled <= 4 + 2 * 4 + 1  # one batch plus the decode-ahead window
    batches.close()  # executor shut down: checked by the autouse fixture


def test_transform_is_applied_and_validated(seventy: list[Path]) -> None:
    def to_grey(img: Image.Image) -> torch.Tensor:
        return torch.from_numpy(np.array(img.convert("L"))).unsqueeze(0).float()

    (batch,) = iter_image_batches(seventy[:3], lambda img: _to_tensor(img) / 255, batch_size=8)
    assert batch.images.shape == (3, 3, 16, 16) and float(batch.images.max()) < 1.0
    with pytest.raises(ValueError, match=r"\[3, H, W\]"):
        list(iter_image_batches(seventy[:3], to_grey))


def test_invalid_batch_size_is_a_value_error(seventy: list[Path]) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        iter_image_batches(seventy, _to_tensor, batch_size=0)
