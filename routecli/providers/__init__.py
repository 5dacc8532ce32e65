"""The registry of provider wires: which adapter speaks which wire protocol.

Nothing here imports an SDK: `get_adapter` imports only the adapter module it is asked for, and each adapter
imports its SDK only once the provider has answered 2xx to our own request (see `preflight`), so `route
explain` and friends never pay for one, and neither does a call to a provider that is down. The machinery the
adapters share lives beside this: `guard.py` (timeouts, aborts), `http.py` (the client), `base.py` (the types).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from routecli.providers.base import Adapter

_MODULES = {"anthropic": "anthropic_wire", "openai": "openai_wire", "mistral": "mistral_wire"}
WIRES = tuple(_MODULES)  # the one list of wire protocols: the policy's schema and doctor read it from here
SDK_MODULES = {"anthropic": "anthropic", "openai": "openai", "mistral": "mistralai"}  # what each wire's SDK is


def get_adapter(wire: str) -> Adapter:
    """The `open_stream` of the adapter for `wire`, importing that adapter module (never its SDK) now."""
    try:
        module_name = _MODULES[wire]
    except KeyError:
        raise ValueError(f"unknown wire protocol {wire!r}; expected one of {', '.join(WIRES)}") from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    return module.open_stream  # type: ignore[no-any-return]
