from pathlib import Path

import numpy as np
import pytest
import scipy.io

from tastevec.common.datasets import live_itw
from tastevec.common.datasets.splits import seeded_test_keys
from tastevec.common.errors import DatasetError

TRAINING = [f"t{k}.bmp" for k in range(1, 8)]


def cell_array(entries: list[object]) -> np.ndarray:
    """An N x 1 object array, which savemat writes as a MATLAB cell array."""
    cells = np.empty((len(entries), 1), dtype=object)
    for k, entry in enumerate(entries):
        cells[k, 0] = entry
    return cells


def write_clive(root: Path, names: list[object], mos: list[float], images: bool = True) -> Path:
    """CLIVE as distributed: names (N x 1 cell) and MOS (1 x N doubles) in Data/."""
    (root / "Data").mkdir(parents=True)
    (root / "Images").mkdir()
    scipy.io.savemat(root / live_itw.NAMES_FILE, {"AllImages_release": cell_array(names)})
    scipy.io.savemat(root / live_itw.MOS_FILE, {"AllMOS_release": np.array([mos], dtype=float)})
    scipy.io.savemat(root / live_itw.STDDEV_FILE, {"AllStdDev_release": np.ones((1, len(mos)))})
    if images:
        for name in names:
            if isinstance(name, str) and name:
                (root / "Images" / name).write_bytes(b"bmp")
    return root


def test_the_training_entries_are_dropped_and_mos_normalised(tmp_path: Path) -> None:
    names = [*TRAINING, "3.bmp", "4.bmp", "5.bmp", "6.bmp"]
    root = write_clive(tmp_path, names, [1.0] * 7 + [0.0, 50.5, 100.0, 25.0])
    data = live_itw.load_image_scores(root, test_fraction=0.0)
    assert [(i.path.name, i.score, i.raw) for i in data.split("train")] == [
        ("3.bmp", 0.0, 0.0),
        ("4.bmp", 0.505, 50.5),
        ("5.bmp", 1.0, 100.0),
        ("6.bmp", 0.25, 25.0),
    ]
    assert data.split("train")[0].path == root / "Images" / "3.bmp"
    assert data.split("test") == () and data.skipped == ()
    everything = live_itw.load_image_scores(root, drop_first=0, test_fraction=0.0)
    assert [i.path.name for i in everything.split("train")] == names
    assert everything.split("train")[0].score == 0.01


def test_the_split_is_a_seeded_fraction_of_the_images(tmp_path: Path) -> None:
    names = [f"{k}.bmp" for k in range(10, 20)]
    root = write_clive(tmp_path, [*TRAINING, *names], [50.0] * 17)
    data = live_itw.load_image_scores(root)
    test = {i.path.name for i in data.split("test")}
    assert test == seeded_test_keys(names, 0.2, 0) and len(test) == 2
    assert {i.path.name for i in data.split("train")} == set(names) - test
    other = live_itw.load_image_scores(root, test_fraction=0.5, seed=4)
    assert {i.path.name for i in other.split("test")} == seeded_test_keys(names, 0.5, 4)


@pytest.mark.parametrize(
    ("entry", "mos", "message"),
    [
        ("9.bmp", float("nan"), r"AllMOS_release\.mat:9: MOS nan is outside the scale 0\.\.100"),
        ("9.bmp", 100.5, r"AllMOS_release\.mat:9: MOS 100\.5 is outside the scale"),
        ("", 50.0, r"AllImages_release\.mat:9: entry 9 of AllImages_release is not a file"),
        (np.array([[1.0]]), 50.0, r"AllImages_release\.mat:9: entry 9 .* not a file name"),
        ("8.bmp", 50.0, r"AllImages_release\.mat:9: duplicate row for 8\.bmp"),
    ],
)
def test_a_bad_entry_names_file_and_index(
    tmp_path: Path, entry: object, mos: float, message: str
) -> None:
    root = write_clive(tmp_path, [*TRAINING, "8.bmp", entry], [50.0] * 8 + [mos])
    with pytest.raises(DatasetError, match=message):
        live_itw.load_image_scores(root)


def test_bad_entries_can_be_skipped_and_counted(tmp_path: Path) -> None:
    names: list[object] = [*TRAINING, "8.bmp", "", "10.bmp", "8.bmp"]
    root = write_clive(tmp_path, names, [50.0] * 8 + [50.0, -3.0, 75.0])
    data = live_itw.load_image_scores(root, on_bad_row="skip", test_fraction=0.0)
    assert [(i.path.name, i.score) for i in data.split("train")] == [("8.bmp", 0.5)]
    assert [row.where.rsplit("/", 1)[1] for row in data.skipped] == [
        "AllImages_release.mat:9",
        "AllMOS_release.mat:10",
        "AllImages_release.mat:11",
    ]


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    root = write_clive(tmp_path, [*TRAINING, "8.bmp"], [50.0] * 8, images=False)
    with pytest.raises(
        DatasetError, match=r"AllImages_release\.mat:8: image .*8\.bmp is listed but missing"
    ):
        live_itw.load_image_scores(root)
    assert len(live_itw.load_image_scores(root, check_images=False)) == 1


def test_lengths_that_differ_are_an_error(tmp_path: Path) -> None:
    root = write_clive(tmp_path, [*TRAINING, "8.bmp"], [50.0] * 9)
    with pytest.raises(DatasetError, match=r"AllMOS_release\.mat: 9 scores .* has 8 names"):
        live_itw.load_image_scores(root)


@pytest.mark.parametrize("damaged", [live_itw.NAMES_FILE, live_itw.MOS_FILE])
def test_a_damaged_mat_file_is_an_error_naming_it(tmp_path: Path, damaged: str) -> None:
    root = write_clive(tmp_path, [*TRAINING, "8.bmp"], [50.0] * 8)
    (root / damaged).write_bytes(b"MATLAB 5.0 MAT-file, cut short")
    with pytest.raises(DatasetError, match=rf"{damaged}: not a readable MATLAB file"):
        live_itw.load_image_scores(root)


def test_a_missing_variable_is_an_error_naming_the_file(tmp_path: Path) -> None:
    root = write_clive(tmp_path, [*TRAINING, "8.bmp"], [50.0] * 8)
    scipy.io.savemat(root / live_itw.MOS_FILE, {"MOS": np.ones((1, 8))})
    with pytest.raises(
        DatasetError, match=r"AllMOS_release\.mat: no variable 'AllMOS_release' \(variables: MOS\)"
    ):
        live_itw.load_image_scores(root)


def test_a_variable_of_the_wrong_kind_is_an_error(tmp_path: Path) -> None:
    root = write_clive(tmp_path, [*TRAINING, "8.bmp"], [50.0] * 8)
    scipy.io.savemat(root / live_itw.MOS_FILE, {"AllMOS_release": cell_array(["50"] * 8)})
    with pytest.raises(DatasetError, match=r"AllMOS_release\.mat: .* is not a numeric array"):
        live_itw.load_image_scores(root)
    scipy.io.savemat(root / live_itw.NAMES_FILE, {"AllImages_release": np.ones((8, 1))})
    with pytest.raises(DatasetError, match=r"AllImages_release\.mat: .* not a cell array"):
        live_itw.load_image_scores(root)


def test_missing_files_and_a_negative_drop_are_errors(tmp_path: Path) -> None:
    root = write_clive(tmp_path, [*TRAINING, "8.bmp"], [50.0] * 8)
    with pytest.raises(DatasetError, match="drop_first must be >= 0"):
        live_itw.load_image_scores(root, drop_first=-1)
    (root / live_itw.NAMES_FILE).unlink()
    with pytest.raises(DatasetError, match=r"not found: .*AllImages_release\.mat"):
        live_itw.load_image_scores(root)


def test_kept_training_entries_are_found_in_their_own_subfolder(tmp_path: Path) -> None:
    root = write_clive(tmp_path, [*TRAINING, "3.bmp"], [10.0] * 7 + [40.0], images=False)
    (root / "Images" / "3.bmp").write_bytes(b"bmp")
    (root / "Images" / live_itw.TRAINING_IMAGE_DIR).mkdir()
    for name in TRAINING:
        (root / "Images" / live_itw.TRAINING_IMAGE_DIR / name).write_bytes(b"bmp")
    data = live_itw.load_image_scores(root, drop_first=0, test_fraction=0.0)
    paths = [i.path for i in data.split("train")]
    assert paths[0] == root / "Images" / "trainingImages" / "t1.bmp"
    assert paths[-1] == root / "Images" / "3.bmp"
