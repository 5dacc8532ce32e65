"""Who made a call, for a ledger a team shares: the user (ROUTE_USER, else the login name), the host, and an
optional project tag (`--tag`, else ROUTE_TAG). Read once per run; every row of the run carries it."""

from __future__ import annotations

import getpass
import os
import socket

from routecli.values import frozen


@frozen
class Attribution:
    user: str | None
    host: str | None
    tag: str | None


def current(tag: str | None = None) -> Attribution:
    user = os.environ.get("ROUTE_USER", "").strip() or None
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no login name (a container with an unnamed uid)
            user = None
    try:
        host = socket.gethostname() or None
    except OSError:
        host = None
    tag = (tag or os.environ.get("ROUTE_TAG", "")).strip() or None
    return Attribution(user, host, tag)
