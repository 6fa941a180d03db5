"""Who may drive the local page: a browser of the person who started it, on this machine.

A local server is still a server: another user of the machine can reach 127.0.0.1, and any
web page open in the person's browser can send it requests. So:

- The server makes a random secret at start and prints it in the URL it opens. The first
  visit with `?token=SECRET` sets it as an HttpOnly, SameSite=Strict cookie and redirects
  to the bare URL; every later request must carry that cookie (or the token, on a page
  load). Without it: 403.
- The Host header must name this server (127.0.0.1:PORT or localhost:PORT), which defeats
  DNS rebinding (a hostile name resolving to 127.0.0.1).
- A request that changes anything (any method but GET/HEAD) must come from the page itself:
  an Origin header naming this server and, when the browser sends it, Sec-Fetch-Site
  same-origin. A cross-site request (another site's form or fetch) is refused before it runs.
- Every response forbids framing, sniffing and referrers, and the page's content security
  policy allows only this server's own scripts, styles and images (no inline script, no eval).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

COOKIE = "tastevec_page"
TOKEN_PARAMETER = "token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str = ""
    via_token: bool = False  # allowed by the URL's token: set the cookie


@dataclass(frozen=True, slots=True)
class Access:
    """The checks for a server on 127.0.0.1:`port` with this `secret`."""

    secret: str
    port: int
    hosts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = ("127.0.0.1", "localhost")
        object.__setattr__(self, "hosts", frozenset(f"{n}:{self.port}" for n in names))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?{TOKEN_PARAMETER}={self.secret}"

    def _is_secret(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.secret.encode())

    def check(
        self,
        method: str,
        headers: dict[str, str],
        cookie: str | None,
        token: str | None,
    ) -> Verdict:
        """Whether a request may run; `headers` with lower-case names."""
        host = headers.get("host", "")
        if host not in self.hosts:
            return Verdict(False, f"host {host!r} is not this page's")
        site = headers.get("sec-fetch-site")
        if method.upper() not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin is None:
                return Verdict(False, "a change needs the Origin header of this page")
            parts = urlsplit(origin)
            if parts.scheme != "http" or parts.netloc not in self.hosts:
                return Verdict(False, f"origin {origin!r} is not this page")
            if site is not None and site != "same-origin":
                return Verdict(False, f"a {site} request cannot change anything")
        elif site == "cross-site":
            return Verdict(False, "a cross-site request cannot read this page")
        if self._is_secret(cookie):
            return Verdict(True)
        if method.upper() in SAFE_METHODS and self._is_secret(token):
            return Verdict(True, via_token=True)
        return Verdict(False, "open the page with the address tastevec-client ui printed")
