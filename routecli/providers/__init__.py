"""The registry of provider wires: which adapter speaks which wire protocol, over which transport.

Nothing here imports an SDK. The default transport, `raw`, reads each wire's server-sent events itself
(`sse.py`, `raw_<wire>.py`), so `route ask` never imports one; `transport: sdk` in the policy hands the reply
to the provider's SDK instead (the reference the raw path is tested against, `tests/test_conformance.py`). The
machinery the adapters share lives beside this: `guard.py` (timeouts, aborts), `http.py` (the client),
`base.py` (the types), `preflight.py` (our own request).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routecli.providers.base import Adapter, Event, Timeouts

_MODULES = {"anthropic": "anthropic_wire", "openai": "openai_wire", "mistral": "mistral_wire"}
_RAW_MODULES = {"anthropic": "raw_anthropic", "openai": "raw_openai", "mistral": "raw_mistral"}
WIRES = tuple(_MODULES)  # the one list of wire protocols: the policy's schema and doctor read it from here
TRANSPORTS = ("raw", "sdk")  # raw: route parses the reply itself (no SDK import); sdk: the SDK parses it
SDK_MODULES = {"anthropic": "anthropic", "openai": "openai", "mistral": "mistralai"}  # what each wire's SDK is


def get_adapter(wire: str) -> Adapter:
    """The `open_stream` for `wire`; each call goes to the raw or the SDK adapter as its endpoint's
    `transport` says, importing that adapter module (never an SDK) on first use."""
    if wire not in _MODULES:
        raise ValueError(f"unknown wire protocol {wire!r}; expected one of {', '.join(WIRES)}")
    return functools.partial(_open_stream, wire)


def adapter_for(wire: str, transport: str) -> Adapter:
    """The `open_stream` of one adapter module, imported now."""
    modules = _RAW_MODULES if transport == "raw" else _MODULES
    if transport not in TRANSPORTS or wire not in modules:
        raise ValueError(f"no adapter for wire {wire!r} over transport {transport!r}")
    module = importlib.import_module(f"{__name__}.{modules[wire]}")
    return module.open_stream  # type: ignore[no-any-return]


def _open_stream(wire: str, endpoint: Any, request: Any, timeouts: Timeouts) -> Iterator[Event]:
    return adapter_for(wire, endpoint.transport)(endpoint, request, timeouts)
