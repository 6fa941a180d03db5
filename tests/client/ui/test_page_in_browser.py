"""The page end to end in headless Chromium: open it, rate with the keyboard, undo, fit, see
the ranking change, forget. Ratings land in the same SQLite store the CLI reads.

The page's content security policy forbids eval, so waits use Playwright's `expect` on
attributes the page sets (never `wait_for_function`), with generous timeouts: two shared
cores score the collection and fit in the background.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from playwright.sync_api import Page as BrowserPage

from tastevec.client.home import Home
from tastevec.client.personal_profile import profile_path
from tastevec.client.ratings_store import RatingsStore
from tastevec.client.release_cache import current_release_id

from .conftest import Page, start_page, stop_page

WAIT_MS = 240_000
ANY_ID = re.compile(r"^[0-9a-f]{24}$")
expect.set_options(timeout=WAIT_MS)  # every wait, also those that name no timeout


def store_count(home: Path) -> int:
    with RatingsStore.open(home / "ratings.sqlite") as store:
        return store.count()


def shown(tab: BrowserPage) -> str:
    photo = tab.locator("#photo")
    expect(photo).to_have_attribute("data-id", ANY_ID, timeout=WAIT_MS)
    value = photo.get_attribute("data-id")
    assert value is not None
    return value


def rate_with_key(tab: BrowserPage, key: str) -> str:
    before = shown(tab)
    ratings = int(tab.locator("body").get_attribute("data-ratings") or 0)
    tab.keyboard.press(key)
    expect(tab.locator("body")).to_have_attribute("data-ratings", str(ratings + 1), timeout=WAIT_MS)
    expect(tab.locator("#photo")).not_to_have_attribute("data-id", before, timeout=WAIT_MS)
    return before


def complete_ranking(tab: BrowserPage, *, not_generation: str | None = None) -> list[Any]:
    gallery = tab.locator("#gallery")
    if not_generation is not None:
        expect(gallery).not_to_have_attribute("data-generation", not_generation, timeout=WAIT_MS)
    expect(gallery).to_have_attribute("data-complete", "yes", timeout=WAIT_MS)
    items = gallery.locator("figure")
    rows: list[Any] = []
    for i in range(items.count()):
        item = items.nth(i)
        rows.append((item.get_attribute("data-id"), float(item.get_attribute("data-score") or 0)))
    return [*rows, gallery.get_attribute("data-generation")]


@pytest.mark.slow
def test_rate_undo_fit_rank_and_forget(browser: Browser, page: Page) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        tab.goto(page.url)
        assert tab.url == page.base + "/"  # the token became a cookie and left the address
        rated = [rate_with_key(tab, key) for key in "152434"]
        assert store_count(page.home) == 6  # the CLI's store, one transaction each
        assert len(set(rated)) == 6

        tab.keyboard.press("u")  # undo the last rating: that photo is shown again
        expect(tab.locator("body")).to_have_attribute("data-ratings", "5", timeout=WAIT_MS)
        expect(tab.locator("#photo")).to_have_attribute("data-id", rated[-1], timeout=WAIT_MS)
        assert store_count(page.home) == 5
        tab.keyboard.press("s")  # skip it
        expect(tab.locator("#photo")).not_to_have_attribute("data-id", rated[-1])
        rate_with_key(tab, "3")
        assert store_count(page.home) == 6

        tab.click("#nav-ranking")
        before = complete_ranking(tab)
        assert len(before) - 1 == 16 and before[0][1] >= before[-2][1]

        tab.click("#fit")
        expect(tab.locator("#fit-state")).to_have_attribute("data-state", "done", timeout=WAIT_MS)
        expect(tab.locator("#fit-progress")).to_have_attribute("data-fraction", "1")
        expect(tab.locator("#fit-progress")).to_be_hidden()
        after = complete_ranking(tab, not_generation=before[-1])
        assert sorted(i for i, _ in after[:-1]) == sorted(i for i, _ in before[:-1])
        assert [s for _, s in after[:-1]] == sorted((s for _, s in after[:-1]), reverse=True)
        assert dict(after[:-1]) != dict(before[:-1])  # the person's model scores differently
        assert [i for i, _ in after[:-1]] != [i for i, _ in before[:-1]]  # and ranks so

        home = Home(page.home)
        release_id = current_release_id(home)
        assert release_id is not None
        assert profile_path(home.profiles, release_id).exists()
        tab.click("#nav-status")
        expect(tab.locator("#status-fit")).to_have_attribute("data-fitted", "yes")
        expect(tab.locator("#status-ratings")).to_contain_text("6 on scale 1-5")

        assert any((page.home / "thumbnails").rglob("*.jpg"))  # made once, kept in the home
        tab.click("#forget")
        tab.click("#forget-confirm")
        expect(tab.locator("#status-message")).to_have_attribute("data-done", "yes")
        expect(tab.locator("#status-fit")).to_have_attribute("data-fitted", "no", timeout=WAIT_MS)
        expect(tab.locator("body")).to_have_attribute("data-ratings", "0")
        assert store_count(page.home) == 0
        assert not profile_path(home.profiles, release_id).exists()
        assert not home.thumbnails.exists()
        assert errors == []
    finally:
        context.close()


PAGE_SIZE = 3  # 16 photos: six pages, more than the five the gallery keeps at once


@pytest.fixture
def paged(page_home: Path, photo_folder: Path) -> Iterator[Page]:
    started = start_page(page_home, photo_folder, "--page-size", str(PAGE_SIZE))
    try:
        yield started
    finally:
        stop_page(started.process)
        print((page_home.parent / "page.log").read_text())  # shown when the test fails


def test_the_whole_collection_can_be_walked_page_by_page(browser: Browser, paged: Page) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        tab.goto(paged.url)
        tab.click("#nav-ranking")
        gallery = tab.locator("#gallery")
        expect(gallery).to_have_attribute("data-complete", "yes")
        expect(gallery).to_have_attribute("data-end", str(PAGE_SIZE))  # one page at first
        seen: dict[int, tuple[str, float]] = {}
        most_shown = 0

        def note_shown() -> None:
            nonlocal most_shown
            figures = gallery.locator("figure")
            most_shown = max(most_shown, figures.count())
            for i in range(figures.count()):
                item = figures.nth(i)
                rank = int(item.get_attribute("data-rank") or 0)
                seen[rank] = (
                    item.get_attribute("data-id") or "",
                    float(item.get_attribute("data-score") or 0),
                )

        note_shown()
        more = tab.locator("#ranking-more")
        while more.is_visible():
            end = int(gallery.get_attribute("data-end") or 0)
            more.click()
            expect(gallery).not_to_have_attribute("data-end", str(end))
            note_shown()
        assert gallery.get_attribute("data-end") == "16"  # the very last photo
        assert sorted(seen) == list(range(1, 17))
        scores = [seen[r][1] for r in range(1, 17)]
        assert scores == sorted(scores, reverse=True)  # in score order, best first
        assert len({seen[r][0] for r in seen}) == 16  # every photo once
        assert most_shown <= 5 * PAGE_SIZE < 16  # the gallery dropped the pages walked past
        assert gallery.get_attribute("data-start") != "0"
        server = tab.request.get(paged.base + "/api/ranking?limit=1000").json()
        assert [i["id"] for i in server["items"]] == [seen[r][0] for r in range(1, 17)]

        earlier = tab.locator("#ranking-earlier")  # and back up to the best
        while earlier.is_visible():
            start = int(gallery.get_attribute("data-start") or 0)
            earlier.click()
            expect(gallery).not_to_have_attribute("data-start", str(start))
        first = gallery.locator("figure").first
        assert first.get_attribute("data-rank") == "1"
        assert first.get_attribute("data-id") == seen[1][0]
        assert errors == []
    finally:
        context.close()
