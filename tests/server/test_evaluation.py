"""evaluate: SROCC and PLCC of a model's scores against the database's, over real files."""

from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from tastevec.common.datasets.records import ScoredImage
from tastevec.common.errors import ImageError
from tastevec.common.preprocessing import Preprocessing
from tastevec.server.evaluation import evaluate

PLAIN = Preprocessing(32, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


class Brightness(nn.Module):
    def __init__(self, sign: float) -> None:
        super().__init__()
        self.sign = sign

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.sign * images.mean(dim=(1, 2, 3))


def grey_images(folder: Path) -> list[ScoredImage]:
    items = []
    for level in range(7):
        path = folder / f"{level}.png"
        Image.new("RGB", (40, 30), (30 * level,) * 3).save(path)
        items.append(ScoredImage(path, level / 6, float(level)))
    return items


def test_a_model_that_agrees_scores_one_and_its_opposite_minus_one(tmp_path: Path) -> None:
    items = grey_images(tmp_path)
    cpu = torch.device("cpu")
    agree = evaluate(Brightness(1.0), items, PLAIN, device=cpu, batch_size=3)
    assert agree == {"srocc": 1.0, "plcc": 1.0, "test_images": 7}
    oppose = evaluate(Brightness(-1.0), items, PLAIN, device=cpu, batch_size=4)
    assert (oppose["srocc"], oppose["plcc"]) == (-1.0, -1.0)


def test_a_corrupt_test_image_is_named(tmp_path: Path) -> None:
    items = grey_images(tmp_path)
    items[3].path.write_bytes(b"not a png")
    with pytest.raises(ImageError, match=r"3\.png"):
        evaluate(Brightness(1.0), items, PLAIN, device=torch.device("cpu"))
