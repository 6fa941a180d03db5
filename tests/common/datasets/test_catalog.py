from pathlib import Path

import pytest

from tastevec.common.datasets import catalog, koniq10k
from tastevec.common.datasets.records import DatabaseKind
from tastevec.common.errors import DatasetError


def test_every_database_of_the_reference_is_in_the_catalog() -> None:
    assert set(catalog.DATABASES) == {
        "koniq10k", "spaq", "kadid10k", "live_itw", "ava", "tad66k", "aadb", "flickr_aes",
        "para", "real_cur",
    }  # fmt: skip
    people = {name for name, info in catalog.DATABASES.items() if info.has_people}
    assert people == {"flickr_aes", "para", "real_cur"}
    for info in catalog.DATABASES.values():
        assert info.splits and set(info.splits) <= {"train", "validation", "test"}
        assert (info.kind is DatabaseKind.PERSONAL) == info.has_people


def test_loading_by_name_passes_options_and_refuses_unknown_ones(tmp_path: Path) -> None:
    (tmp_path / koniq10k.IMAGE_DIR).mkdir()
    (tmp_path / koniq10k.SCORES_FILE).write_text("image_name,MOS\na.jpg,3\n")
    (tmp_path / koniq10k.SETS_FILE).write_text("image_name,set\na.jpg,test\n")
    data = catalog.load_image_scores("koniq10k", tmp_path, check_images=False)
    assert [(i.path.name, i.score) for i in data.split("test")] == [("a.jpg", 0.5)]
    with pytest.raises(DatasetError, match="koniq10k loader takes no option seed"):
        catalog.load_image_scores("koniq10k", tmp_path, seed=3)


def test_unknown_databases_and_views_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown database 'koniq' \\(known: koniq10k,"):
        catalog.load_image_scores("koniq", tmp_path)
    with pytest.raises(DatasetError, match="KonIQ-10k has no per-person ratings"):
        catalog.load_people_ratings("koniq10k", tmp_path)
    with pytest.raises(DatasetError, match="REAL-CUR has per-person ratings only"):
        catalog.load_image_scores("real_cur", tmp_path)
