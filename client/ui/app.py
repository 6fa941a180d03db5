"""The page's HTTP routes (FastAPI). Every request passes `access.Access` first; handlers
only read state or hand work to `background.Background`, so each returns at once."""

from __future__ import annotations

import datetime
import importlib.resources
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel

from tastevec.client.forgetting import forget_home
from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile, profile_path
from tastevec.client.photo_suggestions import ScoredPhoto, choose_photos
from tastevec.client.ratings_store import Rating, RatingScale, RatingsStore
from tastevec.client.release_cache import current_release_id
from tastevec.client.sharing import describe_sharing
from tastevec.client.ui.access import COOKIE, SECURITY_HEADERS, TOKEN_PARAMETER, Access
from tastevec.client.ui.background import Background
from tastevec.client.ui.photo_library import Photo, PhotoLibrary
from tastevec.client.ui.ranking_page import RANKING_LIMIT, RANKING_PAGE, check_page_size
from tastevec.client.ui.thumbnails import thumbnail
from tastevec.common.digests import sha256_bytes
from tastevec.common.errors import ImageError, PageError, TastevecError
from tastevec.common.images import check_image

PAGE_SCALE = RatingScale(1, 5)  # stars; a person whose ratings use another scale keeps it
STATIC = {"app.js": "text/javascript", "style.css": "text/css"}


class Refused(Exception):
    """A request the page turns down, with its HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FolderBody(BaseModel):
    path: str


class RateBody(BaseModel):
    id: str
    stars: int


class PhotoBody(BaseModel):
    id: str


@dataclass
class Session:
    """What this page remembers between requests: what to undo, what was skipped."""

    undo: list[tuple[str, str, Rating | None]] = field(default_factory=list)  # id, sha, before
    skipped: set[str] = field(default_factory=set)
    digests: dict[str, str] = field(default_factory=dict)  # photo id -> sha256, as rated here
    lock: threading.Lock = field(default_factory=threading.Lock)


def _static(name: str) -> bytes:
    return (importlib.resources.files("tastevec.client.ui") / "static" / name).read_bytes()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def stars_to_score(stars: int, scale: RatingScale) -> float:
    """Stars 1-5 on the person's scale: 1 star its low end, 5 its high end."""
    return scale.low + (stars - 1) * (scale.high - scale.low) / 4.0


def create_app(
    home: Home,
    access: Access,
    library: PhotoLibrary,
    work: Background,
    *,
    ranking_page: int = RANKING_PAGE,
) -> FastAPI:
    """The page's app; `ranking_page`: photos per page of the ranking (the page asks for the
    next page when the person wants more)."""
    check_page_size(ranking_page, what="the ranking's page size")
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    session = Session()

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        token = request.query_params.get(TOKEN_PARAMETER) if request.url.path == "/" else None
        verdict = access.check(request.method, headers, request.cookies.get(COOKIE), token)
        if not verdict.allowed:
            response: Response = _error(403, verdict.reason)
        elif verdict.via_token:
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, access.secret, httponly=True, samesite="strict", path="/")
        else:
            try:
                response = await call_next(request)
            except TastevecError as exc:
                response = _error(400, str(exc))
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return _error(exc.status, str(exc))

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(TastevecError)
    async def user_error(request: Request, exc: TastevecError) -> JSONResponse:
        return _error(400, str(exc))

    @app.get("/")
    def index() -> Response:
        return Response(_static("index.html"), media_type="text/html; charset=utf-8")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            return _error(404, "no such file")
        return Response(_static(name), media_type=STATIC[name])

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        release_id = current_release_id(home)
        count, scale, last = 0, None, None
        if home.ratings.exists():
            with RatingsStore.open(home.ratings) as store:
                count, last = store.count(), store.last_rated()
                scale = str(store.scale_of_ratings()) if count else None
        fit: dict[str, Any] | None = None
        if release_id is not None and profile_path(home.profiles, release_id).exists():
            profile = load_profile(home.profiles, release_id)
            fit = {
                "fitted_at": profile.fitted_at,
                "ratings": profile.ratings,
                "mode": profile.mode,
                "layout": profile.layout,
                "seconds": profile.summary.get("seconds"),
            }
        progress = work.progress()
        return {
            "home": str(home.root),
            "release": release_id,
            "ratings": count,
            "scale": scale,
            "last_rated": last,
            "profile": fit,
            "fit": work.fit_state.as_dict(),
            "model": work.model_note or ("your own" if fit else None),
            "scored": progress.scored,
            "own_scored": progress.own_scored,
            "total": progress.total,
            "unreadable": progress.skipped[:20],
            "sharing": describe_sharing(home),
        }

    @app.get("/api/folders")
    def folders() -> dict[str, Any]:
        photos = library.photos()
        return {
            "folders": [
                {"path": str(f), "photos": sum(1 for p in photos if p.folder == f)}
                for f in library.folders()
            ],
            "left_out": library.skipped[:20],
        }

    @app.post("/api/folders")
    def add_folder(body: FolderBody) -> dict[str, Any]:
        try:
            count = library.add(Path(body.path))
        except PageError as exc:
            raise Refused(400, str(exc)) from None
        work.wake()
        return {"path": body.path, "photos": count}

    def rated_digests() -> set[str]:
        if not home.ratings.exists():
            return set()
        with RatingsStore.open(home.ratings) as store:
            return {r.image_sha256 for r in store.ratings()}

    @app.get("/api/next")
    def next_photo() -> dict[str, Any]:
        """The photo to rate next: chosen by `choose_photos` among the photos with own
        scores (the background scores a first sample of them before anything else); while
        none of those is left unrated, the first unrated photo in order."""
        photos = library.photos()
        rated = rated_digests()
        known = work.scores_of(photos)
        unreadable = work.unreadable()
        with session.lock:
            skipped = set(session.skipped)
            rated_here = {i for i, sha in session.digests.items() if sha in rated}
        open_photos = [p for p in photos if p.id not in skipped and p.id not in unreadable]
        pool = [p for p in open_photos if (k := known.get(p.id)) is not None and k.own is not None]
        in_pool = {p.id for p in pool}

        def is_rated(photo: Photo) -> bool:
            k = known.get(photo.id)
            return k.sha256 in rated if k is not None else photo.id in rated_here

        waiting = [p for p in open_photos if p.id not in in_pool and not is_rated(p)]
        unrated = sum(1 for p in pool if not is_rated(p)) + len(waiting)
        scale = _page_scale()
        if pool:
            rows = []
            for p in pool:
                k = known[p.id]
                assert k.own is not None
                rows.append(ScoredPhoto(p.path, k.sha256, k.score, k.own))
            by_path = {p.path: p for p in pool}
            chosen = choose_photos(rows, rated, 1)
            if chosen:
                photo = by_path[chosen[0].path]
                return {
                    "id": photo.id,
                    "name": photo.path.name,
                    "how": "chosen",
                    "unrated": unrated,
                    "scale": scale,
                }
        if waiting:  # no own scores for an unrated photo yet: the first one, in order
            first = waiting[0]
            return {
                "id": first.id,
                "name": first.path.name,
                "how": "in order",
                "unrated": unrated,
                "scale": scale,
            }
        return {"id": None, "name": None, "how": "done", "unrated": 0, "scale": scale}

    def _page_scale() -> str:
        if not home.ratings.exists():
            return str(PAGE_SCALE)
        with RatingsStore.open(home.ratings) as store:
            return str(store.scale_of_ratings()) if store.count() else str(PAGE_SCALE)

    @app.post("/api/rate")
    def rate(body: RateBody) -> dict[str, Any]:
        if not 1 <= body.stars <= 5:
            raise Refused(400, f"stars must be 1-5, got {body.stars}")
        photo, data = library.read(body.id)
        try:
            check_image(data, photo.path)  # a corrupt file is never rated
        except ImageError as exc:
            raise Refused(400, str(exc)) from None
        sha = sha256_bytes(data)
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
        with RatingsStore.open(home.ratings) as store:
            plan = store.plan_import(PAGE_SCALE if store.count() == 0 else None)
            before = store.rating(sha)
            score = stars_to_score(body.stars, plan.scale)
            store.record([Rating(sha, score, str(photo.path), now)], plan)  # one transaction
            count = store.count()
        with session.lock:
            session.undo.append((photo.id, sha, before))
            session.digests[photo.id] = sha
        return {"id": photo.id, "score": score, "scale": str(plan.scale), "ratings": count}

    @app.post("/api/skip")
    def skip(body: PhotoBody) -> dict[str, Any]:
        library.get(body.id)
        with session.lock:
            session.skipped.add(body.id)
        return {"skipped": body.id}

    @app.post("/api/undo")
    def undo() -> dict[str, Any]:
        with session.lock:
            if not session.undo:
                raise Refused(409, "nothing to undo")
            ident, sha, before = session.undo.pop()
        with RatingsStore.open(home.ratings) as store:
            if before is None:
                store.remove(sha)
            else:
                store.record([before], store.plan_import(None))
            count = store.count()
        return {"id": ident, "ratings": count}

    @app.post("/api/fit")
    def fit() -> dict[str, Any]:
        if not work.start_fit():
            raise Refused(409, "a fit is running already")
        return {"fit": "started"}

    @app.get("/api/ranking")
    def ranking(offset: int = 0, limit: int | None = None) -> dict[str, Any]:
        """One page of the ranking, best first: `limit` photos (default: the page size) from
        rank `offset` on; `ranked` says how many there are so far."""
        progress = work.progress()
        ranked = work.ranking()
        offset = max(0, offset)
        limit = max(1, min(ranking_page if limit is None else limit, RANKING_LIMIT))
        items = [
            {"id": p.id, "score": round(s, 4), "name": p.path.name}
            for p, s in ranked[offset : offset + limit]
        ]
        return {
            "scored": progress.scored,
            "total": progress.total,
            "ranked": len(ranked),
            "generation": progress.generation,
            "model": work.model_note or "your own",
            "offset": offset,
            "page_size": ranking_page,
            "items": items,
        }

    @app.get("/api/photos/{ident}/{size}")
    def photo(ident: str, size: str) -> Response:
        found, data = library.read(ident)
        return Response(thumbnail(home, data, found.path, size), media_type="image/jpeg")

    @app.post("/api/forget")
    def forget() -> dict[str, Any]:
        if work.fit_running():
            raise Refused(409, "a fit is running; forget when it has finished")
        with work.model_lock:
            report = forget_home(home)  # thumbnails too
        with session.lock:
            session.undo.clear()
            session.skipped.clear()
            session.digests.clear()
        work.model_changed()
        return {"forgot": report.lines()}

    return app
