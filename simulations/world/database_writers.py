"""Each simulated database written exactly in the format of the real one it mirrors, so the
loaders in tastevec.common.datasets read it unchanged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from openpyxl import Workbook

from tastevec.common.datasets import aadb, ava, flickr_aes, koniq10k, para, real_cur, spaq, tad66k
from tastevec.simulations.world.database_files import (
    decimal,
    place_image,
    write_csv,
    write_lines,
)
from tastevec.simulations.world.image_pool import WorldImage

KONIQ_SETS = {"train": "training", "validation": "validation", "test": "test"}


def write_koniq10k(
    root: Path, images: Sequence[WorldImage], ratings: np.ndarray, split_of: Sequence[str]
) -> None:
    """`ratings`: (images, raters) integers 1-5."""
    counts = np.stack([(ratings == k).sum(axis=1) for k in range(1, 6)], axis=1)
    mos = ratings.mean(axis=1)
    spread = ratings.std(axis=1, ddof=1)
    z = (mos - mos.mean()) / mos.std()
    scores, sets = [], []
    for image, count, m, sd, zz, split in zip(
        images, counts, mos, spread, z, split_of, strict=True
    ):
        place_image(image.path, root / koniq10k.IMAGE_DIR / image.file_name)
        head = [image.file_name, *count.tolist(), int(count.sum())]
        scores.append([*head, decimal(m), decimal(sd), decimal(np.clip(50 + 20 * zz, 0, 100))])
        sets.append([*head, decimal((m - 1) * 25), decimal(sd * 25), KONIQ_SETS[split]])
    columns = ["image_name", "c1", "c2", "c3", "c4", "c5", "c_total", "MOS", "SD"]
    write_csv(root / koniq10k.SCORES_FILE, [*columns, "MOS_zscore"], scores)
    write_csv(root / koniq10k.SETS_FILE, [*columns, "set"], sets)


def write_spaq(
    root: Path,
    images: Sequence[WorldImage],
    ratings: np.ndarray,
    attributes: Mapping[str, np.ndarray],
) -> None:
    """`ratings`: (images, raters) on 0-100; `attributes`: SPAQ's five, each 0-100 per image."""
    book = Workbook()
    sheet = book.active
    names = ("Brightness", "Colorfulness", "Contrast", "Noisiness", "Sharpness")
    sheet.append(["Image name", "MOS", *names])
    for i, image in enumerate(images):
        place_image(image.path, root / spaq.IMAGE_DIR / image.file_name)
        sheet.append(
            [image.file_name, round(float(ratings[i].mean()), 3)]
            + [round(float(attributes[name][i]), 3) for name in names]
        )
    path = root / spaq.XLSX_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def write_ava(
    root: Path, images: Sequence[WorldImage], votes: np.ndarray, test: Sequence[bool]
) -> None:
    """`votes`: (images, voters) integers 1-10; AVA.txt holds their histograms."""
    lines, test_ids = [], []
    for index, (image, row, is_test) in enumerate(zip(images, votes, test, strict=True), 1):
        place_image(image.path, root / ava.IMAGE_DIR / image.file_name)
        counts = [int((row == k).sum()) for k in range(1, 11)]
        lines.append(" ".join(map(str, [index, image.number, *counts, 0, 0, 1])))
        if is_test:
            test_ids.append(str(image.number))
    write_lines(root / ava.SCORES_FILE, lines)
    write_lines(root / ava.TEST_LIST, test_ids)


def write_tad66k(
    root: Path, images: Sequence[WorldImage], votes: np.ndarray, test: Sequence[bool]
) -> None:
    """`votes`: (images, raters) integers 1-10; the files hold each image's mean (0-10)."""
    splits: dict[bool, list[list[str]]] = {False: [], True: []}
    for image, row, is_test in zip(images, votes, test, strict=True):
        place_image(image.path, root / tad66k.IMAGE_DIR / image.file_name)
        splits[bool(is_test)].append([image.file_name, decimal(float(row.mean()))])
    write_csv(root / tad66k.TRAIN_FILE, ["image", "score"], splits[False])
    write_csv(root / tad66k.TEST_FILE, ["image", "score"], splits[True])


def write_flickr_aes(
    root: Path, images: Sequence[WorldImage], rows: Sequence[tuple[str, WorldImage, int]]
) -> None:
    """`rows`: (worker, image, integer 1-5); the score file holds each image's mean."""
    by_image: dict[int, list[int]] = {}
    for _, image, score in rows:
        by_image.setdefault(image.number, []).append(score)
    for image in images:
        place_image(image.path, root / flickr_aes.IMAGE_DIR / image.file_name)
    # The header's fields carry leading spaces in the distributed file.
    lines = ["worker, imagePair, score"]
    lines += [f"{worker},{image.file_name},{score}" for worker, image, score in rows]
    write_lines(root / flickr_aes.WORKER_FILE, lines)
    write_lines(
        root / flickr_aes.SCORES_FILE,
        [f"{i.file_name} {decimal(float(np.mean(by_image[i.number])))}" for i in images],
    )


def write_para(
    root: Path,
    images: Sequence[WorldImage],
    sessions: Mapping[int, str],
    rows: Sequence[tuple[str, WorldImage, Mapping[str, float]]],
    test_images: set[int],
) -> None:
    """`rows`: (user, image, {attribute: score on 1-5 in steps of 0.5}); the GIAA files hold
    each image's 9-bin aesthetic histogram, mean and spread."""
    attributes = para.ATTRIBUTES
    for image in images:
        place_image(image.path, root / para.IMAGE_DIR / sessions[image.number] / image.file_name)
    write_csv(
        root / para.PEOPLE_FILE,
        ["sessionId", "imageName", "userId", *(f"{a}Score" for a in attributes)],
        (
            [sessions[image.number], image.file_name, user, *(f"{s[a]:.1f}" for a in attributes)]
            for user, image, s in rows
        ),
    )
    by_image: dict[int, list[Mapping[str, float]]] = {}
    for _, image, scores in rows:
        by_image.setdefault(image.number, []).append(scores)
    bins = [1.0 + 0.5 * k for k in range(9)]
    header = ["imageName", "sessionId", *(f"aestheticScore_{b:.1f}" for b in bins)]
    header += [f"{a}Score_{stat}" for a in attributes for stat in ("mean", "std")]
    for split, is_test in (("train", False), ("test", True)):
        table = []
        for image in images:
            if (image.number in test_images) != is_test:
                continue
            given = by_image[image.number]
            aesthetic = [s["aesthetic"] for s in given]
            row = [image.file_name, sessions[image.number]]
            row += [str(sum(1 for a in aesthetic if a == b)) for b in bins]
            for a in attributes:
                values = [s[a] for s in given]
                row += [decimal(float(np.mean(values))), decimal(float(np.std(values)))]
            table.append(row)
        write_csv(root / para.GIAA_FILES[split], header, table)


def write_aadb(root: Path, images: Sequence[WorldImage], scores: np.ndarray) -> None:
    """Test-only, like the paper's AADB: every image in Test and TestNew (scores on 0-1)."""
    lines = []
    for image, score in zip(images, scores, strict=True):
        place_image(image.path, root / aadb.IMAGE_DIR / image.file_name)
        lines.append(f"{image.file_name} {decimal(float(score))}")
    for split in ("train", "validation"):
        write_lines(root / aadb.label_file(split), [])
    write_lines(root / aadb.label_file("test"), lines)
    write_lines(root / aadb.LABEL_DIR / f"imgList{aadb.OLD_TEST_LIST}Regression_score.txt", lines)


def write_real_cur(root: Path, rows: Sequence[tuple[str, WorldImage, int]]) -> None:
    """`rows`: (album, image, integer 1-5); the rating is the name of the image's folder."""
    for album, image, score in rows:
        place_image(image.path, root / real_cur.IMAGE_DIR / album / str(score) / image.file_name)
