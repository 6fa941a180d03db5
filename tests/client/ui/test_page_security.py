"""The page's server over plain HTTP (httpx against the real process on 127.0.0.1): no
secret, a wrong one, a foreign Host, a cross-site change, paths out of the folders."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tastevec.client.ratings_store import RatingsStore
from tastevec.client.ui.access import COOKIE
from tastevec.client.ui.photo_library import photo_id

from .conftest import Page, make_home, make_photo_folder, start_page, stop_page, world_photos


@pytest.fixture(scope="module")
def served(
    world: Path, release: Path, trust: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Page, Path]]:
    root = tmp_path_factory.mktemp("page-security")
    photos = make_photo_folder(world, root / "photos")
    outside = root / "outside"
    outside.mkdir()
    secret_photo = outside / "private.jpg"
    shutil.copy(world_photos(world, 20)[-1], secret_photo)
    (photos / "escape.jpg").symlink_to(secret_photo)  # a link out of the folder
    (photos / "inner-link.jpg").symlink_to(photos / sorted(p.name for p in photos.iterdir())[0])
    home = make_home(release, trust, root / "home")
    page = start_page(home, photos)
    try:
        yield page, secret_photo
    finally:
        stop_page(page.process)


def client(page: Page, *, cookie: bool = True) -> httpx.Client:
    cookies = {COOKIE: page.secret} if cookie else {}
    return httpx.Client(base_url=page.base, cookies=cookies, timeout=30.0)


def origin(page: Page) -> dict[str, str]:
    return {"Origin": page.base, "Sec-Fetch-Site": "same-origin"}


def test_binds_to_loopback_only(served: tuple[Page, Path]) -> None:
    page, _ = served
    assert page.url.startswith("http://127.0.0.1:")
    with client(page) as http:
        status = http.get("/api/status")
        assert status.status_code == 200
        assert status.json()["sharing"].startswith("off: nothing leaves this device")


@pytest.mark.parametrize("path", ["/", "/api/status", "/api/ranking", "/static/app.js"])
def test_nothing_without_the_secret(served: tuple[Page, Path], path: str) -> None:
    page, _ = served
    with client(page, cookie=False) as http:
        response = http.get(path)
        assert response.status_code == 403
        assert "address" in response.json()["error"]
        assert http.get("/", params={"token": "wrong"}).status_code == 403
    with httpx.Client(base_url=page.base, cookies={COOKIE: "not-the-secret"}) as http:
        assert http.get(path).status_code == 403


def test_the_token_sets_a_strict_http_only_cookie(served: tuple[Page, Path]) -> None:
    page, _ = served
    with client(page, cookie=False) as http:
        response = http.get(page.url)
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert f"{COOKIE}={page.secret}" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert http.get("/").status_code == 200  # the cookie, kept by the client
        http.cookies.clear()
        # the token opens the page only: elsewhere only the cookie counts
        assert http.get("/api/status", params={"token": page.secret}).status_code == 403


def test_security_headers_on_every_response(served: tuple[Page, Path]) -> None:
    page, _ = served
    with client(page) as http:
        for response in (http.get("/"), http.get("/api/status"), http.get("/nope")):
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe" not in policy
            assert "frame-ancestors 'none'" in policy
            assert response.headers["x-content-type-options"] == "nosniff"
        html = http.get("/").text
        assert "<script>" not in html and "onclick" not in html  # no inline script at all


@pytest.mark.parametrize(
    "host", ["evil.example", f"evil.example:{0}", "127.0.0.2:{port}", "[::1]:{port}", ""]
)
def test_a_foreign_host_is_refused(served: tuple[Page, Path], host: str) -> None:
    page, _ = served
    with client(page) as http:
        response = http.get("/api/status", headers={"Host": host.format(port=page.port)})
        assert response.status_code == 403
        assert "host" in response.json()["error"]
        ok = http.get("/api/status", headers={"Host": f"localhost:{page.port}"})
        assert ok.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Origin at all
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},
        {"Origin": "https://127.0.0.1:{port}"},
        {"Origin": "http://127.0.0.1:{port}", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_site_change_is_refused_before_it_runs(
    served: tuple[Page, Path], headers: dict[str, str]
) -> None:
    page, _ = served
    sent = {k: v.format(port=page.port) for k, v in headers.items()}
    with client(page) as http:
        some = http.get("/api/ranking").json()
        target = http.get("/api/next").json()["id"]
        assert target is not None, some
        for path, body in [
            ("/api/rate", {"id": target, "stars": 5}),
            ("/api/forget", {}),
            ("/api/fit", {}),
            ("/api/folders", {"path": "/"}),
        ]:
            response = http.post(path, json=body, headers=sent)
            assert response.status_code == 403, (path, response.text)
        folders = [f["path"] for f in http.get("/api/folders").json()["folders"]]
    assert folders == [str(page.photos.resolve())]
    ratings = page.home / "ratings.sqlite"
    if ratings.exists():
        with RatingsStore.open(ratings) as store:
            assert store.count() == 0


def test_a_same_origin_change_runs(served: tuple[Page, Path]) -> None:
    page, _ = served
    with client(page) as http:
        target = http.get("/api/next").json()["id"]
        rated = http.post("/api/rate", json={"id": target, "stars": 4}, headers=origin(page))
        assert rated.status_code == 200, rated.text
        assert rated.json()["ratings"] == 1
        undone = http.post("/api/undo", json={}, headers=origin(page))
        assert undone.json() == {"id": target, "ratings": 0}
        assert http.post("/api/undo", json={}, headers=origin(page)).status_code == 409


@pytest.mark.parametrize(
    "path",
    [
        "/api/photos/..%2F..%2F..%2Fetc%2Fpasswd/view",
        "/api/photos/%2Fetc%2Fpasswd/view",
        "/api/photos/../../../etc/passwd",
        "/api/photos/" + "0" * 24 + "/view",
        "/static/..%2Fapp.py",
        "/static/index.html",  # served only as /
    ],
)
def test_no_path_leads_out_of_the_folders(served: tuple[Page, Path], path: str) -> None:
    page, _ = served
    with client(page) as http:
        response = http.get(path)
        assert response.status_code == 404, (path, response.status_code, response.text[:200])
        assert b"root:" not in response.content


def test_a_link_out_of_a_folder_is_never_served(served: tuple[Page, Path]) -> None:
    page, secret_photo = served
    resolved = secret_photo.resolve()
    with client(page) as http:
        folders = http.get("/api/folders").json()
        inside = sum(1 for p in page.photos.iterdir() if p.resolve().is_relative_to(page.photos))
        assert folders["folders"][0]["photos"] == inside - 1  # the inner link is the same file
        assert any("escape.jpg" in line for line in folders["left_out"])
        for ident in (photo_id(resolved), photo_id(page.photos / "escape.jpg")):
            for size in ("view", "thumb"):
                assert http.get(f"/api/photos/{ident}/{size}").status_code == 404
        some = http.get("/api/next").json()["id"]
        assert http.get(f"/api/photos/{some}/view").headers["content-type"] == "image/jpeg"
        assert http.get(f"/api/photos/{some}/huge").status_code == 404
        added = http.post("/api/folders", json={"path": "/nonexistent"}, headers=origin(page))
        assert added.status_code == 400 and "not found" in added.json()["error"]


def test_killing_the_server_loses_no_acknowledged_rating(page: Page) -> None:
    with client(page) as http:
        done = []
        for stars in (2, 5, 3):
            target = http.get("/api/next").json()["id"]
            answer = http.post(
                "/api/rate", json={"id": target, "stars": stars}, headers=origin(page)
            )
            assert answer.status_code == 200, answer.text
            done.append(answer.json()["score"])
    os.kill(page.process.pid, signal.SIGKILL)
    page.process.wait(timeout=30)
    with RatingsStore.open(page.home / "ratings.sqlite") as store:
        assert sorted(r.score for r in store.ratings()) == sorted(done)
        assert str(store.scale()) == "1-5"
