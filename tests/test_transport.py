"""`transport: raw | sdk` per provider in the policy."""

from __future__ import annotations


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
