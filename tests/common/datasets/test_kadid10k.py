from pathlib import Path

import pytest

from tastevec.common.datasets import kadid10k
from tastevec.common.datasets.splits import seeded_test_keys
from tastevec.common.errors import DatasetError

HEADER = "dist_img,ref_img,dmos,var\n"


def write_kadid(root: Path, rows: list[tuple[str, str, str]], images: bool = True) -> Path:
    """KADID-10k as distributed: rows are (dist_img, ref_img, dmos on 1-5)."""
    (root / "images").mkdir(parents=True)
    lines = [HEADER] + [f"{dist},{ref},{dmos},0.496\n" for dist, ref, dmos in rows]
    (root / kadid10k.SCORES_FILE).write_text("".join(lines))
    if images:
        for name in {name for dist, ref, _ in rows for name in (dist, ref) if name}:
            (root / "images" / name).write_bytes(b"png")
    return root


def test_dmos_is_normalised_higher_is_better(tmp_path: Path) -> None:
    root = write_kadid(
        tmp_path,
        [
            ("I01_01_01.png", "I01.png", "1"),
            ("I01_01_02.png", "I01.png", "2.0"),
            ("I01_01_03.png", "I01.png", "4.5"),
            ("I01_01_04.png", "I01.png", "5.00"),
        ],
    )
    data = kadid10k.load_image_scores(root, test_fraction=0.0)
    assert [(i.path.name, i.score, i.raw) for i in data.split("train")] == [
        ("I01_01_01.png", 0.0, 1.0),
        ("I01_01_02.png", 0.25, 2.0),
        ("I01_01_03.png", 0.875, 4.5),
        ("I01_01_04.png", 1.0, 5.0),
    ]
    assert data.split("train")[0].path == root / "images" / "I01_01_01.png"
    assert data.split("test") == () and data.skipped == ()
    assert data.info.splits == ("train", "test") and not data.info.official_splits


def test_the_split_keeps_each_reference_with_all_its_distortions(tmp_path: Path) -> None:
    refs = [f"I{r:02d}.png" for r in range(1, 6)]
    rows = [(f"I{r:02d}_0{d}_01.png", f"I{r:02d}.png", "3") for r in range(1, 6) for d in (1, 2, 3)]
    root = write_kadid(tmp_path, rows)
    data = kadid10k.load_image_scores(root)
    (test_ref,) = seeded_test_keys(refs, 0.2, 0)
    stem = test_ref.removesuffix(".png")
    assert [i.path.name for i in data.split("test")] == [f"{stem}_0{d}_01.png" for d in (1, 2, 3)]
    assert len(data.split("train")) == 12
    assert all(not i.path.name.startswith(stem) for i in data.split("train"))
    more = kadid10k.load_image_scores(root, test_fraction=0.6, seed=7)
    expected = seeded_test_keys(refs, 0.6, 7)
    assert {i.path.name[:3] + ".png" for i in more.split("test")} == expected
    assert len(more.split("test")) == 9


@pytest.mark.parametrize(
    ("dmos", "message"),
    [
        ("good", "dmos 'good' is not a number"),
        ("5.5", "dmos 5.5 is outside the scale 1..5"),
        ("0.9", "dmos 0.9 is outside the scale 1..5"),
        ("", "dmos '' is not a number"),
    ],
)
def test_a_bad_score_names_file_and_line(tmp_path: Path, dmos: str, message: str) -> None:
    root = write_kadid(tmp_path, [("a.png", "r.png", "2"), ("b.png", "r.png", dmos)])
    with pytest.raises(DatasetError, match=rf"dmos\.csv:3: {message}"):
        kadid10k.load_image_scores(root)


def test_bad_rows_can_be_skipped_and_counted(tmp_path: Path) -> None:
    root = write_kadid(
        tmp_path,
        [
            ("a.png", "r.png", "2"),
            ("a.png", "s.png", "3"),  # duplicate distorted image
            ("b.png", "", "3"),  # no reference
            ("c.png", "r.png", "inf"),
        ],
    )
    data = kadid10k.load_image_scores(root, on_bad_row="skip", test_fraction=0.0)
    assert [(i.path.name, i.score) for i in data.split("train")] == [("a.png", 0.25)]
    assert [row.where.rsplit(":", 1)[1] for row in data.skipped] == ["3", "4", "5"]
    assert "duplicate row for a.png" in data.skipped[0].reason
    assert data.skipped[1].reason == "empty dist_img or ref_img"


def test_a_short_row_is_a_bad_row(tmp_path: Path) -> None:
    root = write_kadid(tmp_path, [("a.png", "r.png", "2")])
    with (root / kadid10k.SCORES_FILE).open("a") as table:
        table.write("b.png,r.png\n")
    with pytest.raises(DatasetError, match=r"dmos\.csv:3: dmos '' is not a number"):
        kadid10k.load_image_scores(root)


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    root = write_kadid(tmp_path, [("a.png", "r.png", "2")], images=False)
    with pytest.raises(DatasetError, match=r"dmos\.csv:2: image .*a\.png is listed but missing"):
        kadid10k.load_image_scores(root)
    assert len(kadid10k.load_image_scores(root, check_images=False)) == 1


def test_missing_files_and_columns_are_errors(tmp_path: Path) -> None:
    root = write_kadid(tmp_path, [("a.png", "r.png", "2")])
    (root / kadid10k.SCORES_FILE).write_text("dist_img,dmos,var\na.png,2,0.1\n")
    with pytest.raises(DatasetError, match=r"dmos\.csv:1: missing column\(s\) ref_img"):
        kadid10k.load_image_scores(root)
    (root / kadid10k.SCORES_FILE).unlink()
    with pytest.raises(DatasetError, match=r"not found: .*dmos\.csv"):
        kadid10k.load_image_scores(root)
