"""A fit on the page runs in the background and shows its progress: while the device's fit
(the real `fit_person`, the one the page calls) is held at each stage it reports, the page's
other requests (status, next, rate) still answer, and its status carries that very stage;
the fraction rises to 1.0 when the fit is done.

The server runs in this process here (uvicorn on 127.0.0.1, port 0, in a thread this test
starts and stops), so the test can hold the fit between its steps: that makes "during the
fit" certain on any machine, where timing a real fit from outside could not."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import torch

from tastevec.client.fit_progress import FitProgress, ProgressCallback
from tastevec.client.home import Home
from tastevec.client.personal_profile import Profile
from tastevec.client.ui.background import Background, fit_person
from tastevec.client.ui.photo_library import PhotoLibrary

from .conftest import serve_in_process

WAIT_S = 240.0


class HeldFit:
    """The page's fit, held after each progress report until the test lets it go on."""

    def __init__(self) -> None:
        self.heard: list[FitProgress] = []
        self.go_on = threading.Semaphore(0)
        self.lock = threading.Lock()

    def __call__(self, home: Home, progress: ProgressCallback) -> Profile:
        def held(step: FitProgress) -> None:
            progress(step)
            with self.lock:
                self.heard.append(step)
            if not self.go_on.acquire(timeout=WAIT_S):
                raise AssertionError("the test never let the fit go on")

        return fit_person(home, held)

    def steps(self) -> int:
        with self.lock:
            return len(self.heard)


@dataclass
class Served:
    http: httpx.Client
    fit: HeldFit
    origin: dict[str, str]


@pytest.fixture
def served(page_home: Path, photo_folder: Path) -> Iterator[Served]:
    home = Home(page_home)
    library = PhotoLibrary(home)
    library.add(photo_folder)
    held = HeldFit()
    work = Background(home, library, torch.device("cpu"), fit=held)
    try:
        with serve_in_process(home, library, work) as page:
            yield Served(page.http, held, page.origin)
    finally:
        for _ in range(1000):  # never leave the fit held
            held.go_on.release()


def rate_next(served: Served, stars: int) -> int:
    photo = served.http.get("/api/next").json()
    assert photo["id"] is not None
    answer = served.http.post(
        "/api/rate", json={"id": photo["id"], "stars": stars}, headers=served.origin
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["ratings"])


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_during_a_fit_the_page_answers_and_its_progress_advances(served: Served) -> None:
    for stars in (1, 5, 2, 4, 3, 4):
        count = rate_next(served, stars)
    assert count == 6
    started = served.http.post("/api/fit", headers=served.origin)
    assert started.status_code == 200, started.text
    shown: list[dict[str, object]] = []
    answered_while_held = 0
    while True:
        wait_for(
            lambda: (
                served.fit.steps() > len(shown)
                or served.http.get("/api/status").json()["fit"]["state"] != "running"
            ),
            "the fit's next step",
        )
        if served.fit.steps() == len(shown):
            break  # the fit has finished
        step = served.fit.heard[len(shown)]
        status = served.http.get("/api/status").json()  # the fit is held at `step` now
        assert status["fit"]["state"] == "running"
        assert status["fit"]["progress"] == step.as_dict()  # the page shows this very stage
        shown.append(status["fit"]["progress"])
        if len(shown) in (2, 4):  # held mid-fit: the page still rates, one transaction each
            count = rate_next(served, 2 + len(shown) // 2)
            answered_while_held += 1
            assert served.http.post("/api/fit", headers=served.origin).status_code == 409
        served.fit.go_on.release()
    fractions = [float(str(s["fraction"])) for s in shown]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len(set(fractions)) >= 4  # it advanced through the stages, not in one jump
    assert {str(s["stage"]) for s in shown} >= {"loading the release", "saving your profile"}
    assert answered_while_held == 2 and count == 8
    wait_for(lambda: served.http.get("/api/status").json()["fit"]["state"] == "done", "done")
    final = served.http.get("/api/status").json()
    assert final["fit"]["progress"]["fraction"] == 1.0
    assert final["profile"]["ratings"] == 6  # the fit read the ratings there when it began
    assert final["ratings"] == 8
