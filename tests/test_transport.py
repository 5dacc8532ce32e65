"""`transport: raw | sdk` per provider in the policy."""

from __future__ import annotations

import pytest
from fakeprovider import WIRE_OF, FakeProvider

from routecli.providers import get_adapter
from routecli.providers.base import ChatRequest, Endpoint, Timeouts

QUICK = Timeouts(connect=1, first_token=2, idle=2)


def test_an_unknown_transport_is_a_one_line_policy_error(route, home):
    policy = home / "bad.yaml"
    policy.write_text("providers:\n  moonshot:\n    transport: grpc\n")
    result = route("policy", "validate", str(policy))
    assert result.returncode == 2
    assert result.stderr.strip().endswith("provider 'moonshot': transport must be raw or sdk")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_transport_is_shown_with_the_policy(route, home):
    policy = home / "sdk.yaml"
    policy.write_text("providers:\n  moonshot:\n    transport: sdk\n")
    shown = route("policy", "show", "--json", "--policy", str(policy)).json()
    assert shown["policy"]["providers"]["moonshot"]["transport"] == "sdk"


@pytest.mark.parametrize("flavor", WIRE_OF)
@pytest.mark.parametrize("stream", [True, False])
def test_both_transports_send_the_same_request(fake_provider: FakeProvider, flavor: str, stream: bool) -> None:
    """The raw path sends what the SDK path sends (which tests/test_preflight.py holds to the SDK's own)."""
    request = ChatRequest("model-1", "Question? ünïcødé", 99, system="Be brief.", stream=stream)
    key = None if flavor == "ollama" else "sk-test-key"
    for transport in ("sdk", "raw"):
        ep = Endpoint(flavor, WIRE_OF[flavor], fake_provider.base_url(flavor), key, transport)
        list(get_adapter(ep.wire)(ep, request, QUICK))  # a failure raises ProviderError
    by_sdk, by_raw = fake_provider.requests_for(flavor)
    assert (by_raw.method, by_raw.path, by_raw.body) == (by_sdk.method, by_sdk.path, by_sdk.body)
    for name in ("authorization", "anthropic-version", "accept", "content-type", "user-agent"):
        assert by_raw.headers.get(name) == by_sdk.headers.get(name), name
