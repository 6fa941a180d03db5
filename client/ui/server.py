"""`tastevec-client ui`: the page's server, on 127.0.0.1 only.

The socket is bound here, before uvicorn sees it, so the address can only be 127.0.0.1 and
port 0 (the default) gives a free port that is known before the URL is printed.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import socket
import threading
import webbrowser
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from tastevec.client.home import Home
from tastevec.client.ui.access import Access, new_secret
from tastevec.client.ui.app import create_app
from tastevec.client.ui.background import OWN_SAMPLE, Background
from tastevec.client.ui.photo_library import PhotoLibrary
from tastevec.client.ui.ranking_page import RANKING_PAGE
from tastevec.common.device import default_device
from tastevec.common.errors import PageError

ADDRESS = "127.0.0.1"
logger = logging.getLogger(__name__)


def bind(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:`port` (0: a free one); PageError if taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((ADDRESS, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise PageError(f"cannot listen on {ADDRESS}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(
    home: Home,
    photos: Sequence[Path],
    port: int,
    *,
    open_browser: bool,
    ranking_page: int = RANKING_PAGE,
    own_sample: int = OWN_SAMPLE,
) -> int:
    """Run the page until interrupted (Ctrl-C or SIGTERM); every acknowledged rating is in
    the ratings store already, so stopping loses nothing. `own_sample`: photos scored by
    every model before the ranking pass (background.py)."""
    home.create()
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 PID prints every thread's stack
    library = PhotoLibrary(home)
    for folder in photos:
        library.add(folder)
    sock = bind(port)
    access = Access(new_secret(), sock.getsockname()[1])
    work = Background(home, library, default_device(), own_sample=own_sample)
    app = create_app(home, access, library, work, ranking_page=ranking_page)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    print(f"tastevec page for {home.root}: {access.url}", flush=True)
    print("(keep this address to yourself; Ctrl-C stops the page)", flush=True)
    work.start()
    if open_browser:
        threading.Thread(target=_open, args=(access.url,), daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        work.stop()
        sock.close()
    return 0


def _open(url: str) -> None:
    try:
        if not webbrowser.open(url):
            logger.info("no browser found; open the address above")
    except webbrowser.Error as exc:
        logger.info("cannot open a browser: %s", exc)
