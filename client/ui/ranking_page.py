"""How much of the ranking one request carries: the page asks for one page at a time, the
next one when the person wants more, so neither the browser nor a response holds the whole
collection at once."""

from __future__ import annotations

from tastevec.common.errors import PageError

RANKING_PAGE = 120  # photos per page of the ranking, unless the server is told otherwise
RANKING_LIMIT = 1000  # the most photos one request may ask for


def check_page_size(size: int, *, what: str = "--page-size") -> int:
    """`size`, if a page of the ranking may have that many photos; PageError otherwise."""
    if not 1 <= size <= RANKING_LIMIT:
        raise PageError(f"{what} must be 1-{RANKING_LIMIT}, got {size}")
    return size
