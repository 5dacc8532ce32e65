"""Provider settings from the environment that can never work: a key an HTTP header cannot carry (`sk-ant-ключ`),
a `<NAME>_BASE_URL` that is not an http(s) URL (`ht!tp://bad url`). Found when the environment is read, so the
provider is left out with the reason (explain, doctor) and no call is made to fail, retry or cool down on them.
The messages name the variable, never its value (a key is a secret; a URL may hold one)."""

from __future__ import annotations

from urllib.parse import urlsplit


def key_problem(variable: str, key: str) -> str | None:
    """A key goes into a header as is: only printable ASCII travels there."""
    if all(" " <= ch <= "~" for ch in key):
        return None
    return f"{variable} holds characters an HTTP header cannot carry (a key is printable ASCII)"


def base_url_problem(variable: str, url: str) -> str | None:
    """An override must be an http(s) URL with a host (and a valid port, no spaces or control characters)."""
    if _is_http_url(url):
        return None
    return f"{variable} is not an http(s) URL (such as https://host:port/v1)"


def _is_http_url(url: str) -> bool:
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
