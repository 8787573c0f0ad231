"""The official Python SDK (azure-communication-identity 1.5.0, azure-core's RetryPolicy) against faults the
emulator injects on demand and against its throttling: the SDK retries per its own policy and succeeds, and a
fault that never clears surfaces as the service error.

azure-core retries a POST on 500, 503 and 504, and on any status that carries `Retry-After` (which it then
waits for); a 429 without `Retry-After` on a POST is not retried. The emulator's throttling always sends
`Retry-After`.
"""

import time

import pytest
from azure.communication.identity import CommunicationIdentityClient, CommunicationTokenScope
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError

from conftest import emulator_control, start_emulator

SCOPES = [CommunicationTokenScope.CHAT]


@pytest.fixture(scope="module")
def fault_emulator(tmp_root):
    # Its own process: the injected 5xx answers show in its request log, which the shared emulator's
    # teardown checks for unexpected server errors.
    running = start_emulator(tmp_root)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_faults_left(fault_emulator):
    emulator_control(fault_emulator, "PUT", "/emulator/controls", {})
    yield
    emulator_control(fault_emulator, "PUT", "/emulator/controls", {})


def client_for(emulator, **kwargs):
    return CommunicationIdentityClient(emulator.endpoint, AzureKeyCredential(emulator.access_key), **kwargs)


def add_fault(emulator, **rule):
    return emulator_control(emulator, "PUT", "/emulator/controls", {"faults": [rule]})


def faults_left(emulator):
    return emulator_control(emulator, "GET", "/emulator/controls")["faults"]


def test_two_injected_503s_then_success_on_the_third_try(fault_emulator):
    client = client_for(fault_emulator)
    add_fault(fault_emulator, operation="createIdentity", status=503, count=2)
    user = client.create_user()
    assert user.properties["id"].startswith(f"8:acs:{fault_emulator.resource_id}_")
    # Both injected answers were used up: the SDK tried three times.
    assert faults_left(fault_emulator) == []
    listed = emulator_control(fault_emulator, "GET", "/emulator/identities")["value"]
    assert user.properties["id"] in [entry["id"] for entry in listed]


def test_two_injected_429s_with_retry_after_then_success(fault_emulator):
    client = client_for(fault_emulator)
    user = client.create_user()
    add_fault(fault_emulator, operation="issueToken", status=429, count=2, retryAfter=1)
    started = time.monotonic()
    token = client.get_token(user, SCOPES)
    assert token.token.count(".") == 2
    assert faults_left(fault_emulator) == []
    assert time.monotonic() - started >= 2, "the SDK waited Retry-After (1 s) before each retry"


def test_a_503_that_never_clears_surfaces_the_service_error(fault_emulator):
    # azure-core's default policy: at most 3 retries on an error status, here 1 s apart (Retry-After).
    client = client_for(fault_emulator)
    user = client.create_user()
    add_fault(fault_emulator, operation="revokeTokens", status=503, retryAfter=1)
    with pytest.raises(HttpResponseError) as excinfo:
        client.revoke_tokens(user)
    error = excinfo.value
    assert error.status_code == 503
    assert error.error.code == "ServiceUnavailable"
    assert error.error.message.startswith("Fault injected by the emulator (rule ")
    assert error.error.message.endswith(", operation revokeTokens).")
    assert len(faults_left(fault_emulator)) == 1, "the rule is still in force"


def test_a_429_that_never_clears_surfaces_the_service_error(fault_emulator):
    client = client_for(fault_emulator, retry_total=2)
    add_fault(fault_emulator, operation="createIdentityAndToken", status=429, retryAfter=1)
    with pytest.raises(HttpResponseError) as excinfo:
        client.create_user_and_token(SCOPES)
    assert excinfo.value.status_code == 429
    assert excinfo.value.error.code == "TooManyRequests"
    # Other operations are not affected.
    assert client.create_user().properties["id"].startswith("8:acs:")


def test_throttling_at_scaled_limits_is_retried_after_retry_after(tmp_root):
    # One request of each operation per 2-second window: the second create is throttled (429 with
    # Retry-After), the SDK waits and succeeds once the window frees.
    running = start_emulator(tmp_root, extra_args=["--controls", '{"throttling":{"scale":0.001,"windowSeconds":2}}'])
    try:
        client = client_for(running)
        first = client.create_user()
        started = time.monotonic()
        second = client.create_user()
        assert first.properties["id"] != second.properties["id"]
        assert time.monotonic() - started >= 0.5, "the second create waited for the window"
        log = running.log_text(full=True)
        assert "status=429" in log, "the emulator throttled the second create"
    finally:
        running.stop()
