"""Whether this person agrees to share their fitted coefficients with the population.

A setting in the person's home (`HOME/sharing.json`, private), off until they say otherwise
with `tastevec-client share on`. Off, the device's Flower ClientApp still fits locally but
sends nothing at all; on, it sends only its coefficients and their squares, masked by secure
aggregation, so the server learns the cohort's sums and nothing of one person.
"""

from __future__ import annotations

import json
from pathlib import Path

from tastevec.client.home import Home
from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import HomeError
from tastevec.common.os_inputs import PRIVATE_FILE_MODE, read_regular_file
from tastevec.common.release_manifest import utc_now_iso

SHARING_FILE = "sharing.json"
SHARING_LIMIT = 4096


def sharing_path(home: Home) -> Path:
    return home.root / SHARING_FILE


def sharing_enabled(home: Home) -> bool:
    """True only if this person said `share on` (and not `share off` since)."""
    path = sharing_path(home)
    if not path.exists() and not path.is_symlink():
        return False
    data = read_regular_file(path, limit=SHARING_LIMIT, what="sharing setting", error=HomeError)
    try:
        document = json.loads(data.decode("utf-8"))
        share = document["share"]
        if not isinstance(share, bool):
            raise ValueError(f"share is {share!r}, not true or false")
    except (ValueError, KeyError, TypeError) as exc:
        raise HomeError(
            f"sharing setting {path} is unreadable ({exc}); run: tastevec-client share on|off"
        ) from None
    return share


def set_sharing(home: Home, share: bool) -> None:
    home.create()
    document = {"share": share, "changed_at": utc_now_iso()}
    data = (json.dumps(document, indent=2) + "\n").encode()
    write_atomic(sharing_path(home), data, mode=PRIVATE_FILE_MODE)


def describe_sharing(home: Home) -> str:
    """The person's consent in words, for `status` and the page; never raises."""
    try:
        shared = sharing_enabled(home)
    except HomeError as exc:
        return f"off ({exc})"
    if shared:
        return "on: your fitted coefficients join federated rounds, masked by secure aggregation"
    return "off: nothing leaves this device (tastevec-client share on)"
