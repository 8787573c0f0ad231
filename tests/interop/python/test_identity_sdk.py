"""The official Python SDK (azure-communication-identity 1.5.0) against the emulator, with its default HMAC policy."""

import os
import time
import uuid
import re
from datetime import datetime, timedelta

import pytest
from azure.communication.identity import (
    CommunicationIdentityClient,
    CommunicationTokenScope,
    CommunicationUserIdentifier,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from conftest import decode_jwt_header, decode_jwt_payload, entra_test_token, token_is_valid

SCOPES = [CommunicationTokenScope.CHAT, CommunicationTokenScope.VOIP]
# Like the service: RFC 3339, up to 7 fractional digits, numeric offset.
EXPIRES_ON_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?\+00:00$")


@pytest.fixture(scope="module")
def client(emulator):
    # The SDK turns a connection string into https://; over plain http build it from endpoint + key.
    return CommunicationIdentityClient(emulator.endpoint, AzureKeyCredential(emulator.access_key))


def expires_epoch(token):
    """`AccessToken.expires_on` as epoch seconds: SDK 1.5.0 passes the service's string through as is."""
    value = token.expires_on
    if isinstance(value, str):
        assert EXPIRES_ON_FORMAT.match(value), f"expiresOn not formatted like the service: {value!r}"
        return datetime.fromisoformat(value).timestamp()
    return float(value)


def resource_of(user_id):
    assert user_id.startswith("8:acs:"), user_id
    return user_id[len("8:acs:") :].split("_", 1)[0]


def assert_service_error(excinfo, status, code, message, target=None, message_exact=True):
    error = excinfo.value
    assert isinstance(error, HttpResponseError)
    assert error.status_code == status, f"status {error.status_code}: {error}"
    assert error.error is not None, f"no CommunicationErrorResponse in {error.response.text()!r}"
    assert error.error.code == code
    if message_exact:
        assert error.error.message == message
    else:
        assert error.error.message.startswith(message), error.error.message
    if target is not None:
        assert error.error.target == target
    # What a user sees in the exception text carries the service's code and message.
    assert code in str(error) and message in str(error)


# ---------------------------------------------------------------------------------------------------------
# The six operations


def test_create_user(client, emulator):
    user = client.create_user()
    assert isinstance(user, CommunicationUserIdentifier)
    assert user.properties["id"].startswith(f"8:acs:{emulator.resource_id}_")
    assert user.raw_id == user.properties["id"]


def test_create_user_and_token_with_chat_voip_for_60_minutes(client, emulator):
    before = time.time()
    user, token = client.create_user_and_token(scopes=SCOPES, token_expires_in=timedelta(minutes=60))
    assert resource_of(user.properties["id"]) == emulator.resource_id
    assert abs(expires_epoch(token) - (before + 3600)) < 60, (token.expires_on, before)
    header = decode_jwt_header(token.token)
    claims = decode_jwt_payload(token.token)
    assert header["alg"] == "RS256" and header.get("kid")
    assert claims["skypeid"] == user.properties["id"][len("8:") :]
    assert claims["acsScope"] == "chat,voip"
    assert claims["resourceId"] == emulator.resource_id
    assert claims["exp"] == int(expires_epoch(token))
    assert token_is_valid(emulator, token.token)


def test_create_user_and_token_defaults_to_24_hours(client):
    before = time.time()
    _, token = client.create_user_and_token(scopes=[CommunicationTokenScope.CHAT])
    assert abs(expires_epoch(token) - (before + 24 * 3600)) < 60


def test_get_token(client, emulator):
    user = client.create_user()
    before = time.time()
    token = client.get_token(user, SCOPES, token_expires_in=timedelta(minutes=90))
    assert abs(expires_epoch(token) - (before + 90 * 60)) < 60
    claims = decode_jwt_payload(token.token)
    assert claims["skypeid"] == user.properties["id"][len("8:") :]
    assert claims["acsScope"] == "chat,voip"
    assert token_is_valid(emulator, token.token)


def test_get_token_for_teams_user(client, emulator):
    app_id = str(uuid.uuid4())
    user_object_id = str(uuid.uuid4())
    expires_at = int(time.time()) + 3000
    aad_token = entra_test_token(app_id, user_object_id, expires_at)
    token = client.get_token_for_teams_user(aad_token, app_id, user_object_id)
    assert abs(expires_epoch(token) - expires_at) <= 1
    claims = decode_jwt_payload(token.token)
    assert claims["skypeid"] == f"orgid:{user_object_id}"
    assert token_is_valid(emulator, token.token)


def test_revoke_tokens(client, emulator):
    user, token = client.create_user_and_token(scopes=SCOPES)
    assert token_is_valid(emulator, token.token)
    client.revoke_tokens(user)
    assert not token_is_valid(emulator, token.token), "a token issued before the revoke must be invalid"
    fresh = client.get_token(user, SCOPES)
    assert token_is_valid(emulator, fresh.token), "a token issued after the revoke stays valid"


def test_delete_user(client, emulator):
    user, token = client.create_user_and_token(scopes=SCOPES)
    client.delete_user(user)
    assert not token_is_valid(emulator, token.token), "delete revokes the identity's tokens"
    with pytest.raises(HttpResponseError) as excinfo:
        client.get_token(user, SCOPES)
    assert 400 <= excinfo.value.status_code < 500
    assert excinfo.value.error is not None and excinfo.value.error.code


# ---------------------------------------------------------------------------------------------------------
# The error table of service.md, as the SDK surfaces it


@pytest.mark.parametrize("minutes", [1441, 59])
def test_expires_in_minutes_out_of_range_on_issue(client, minutes):
    user = client.create_user()
    with pytest.raises(HttpResponseError) as excinfo:
        client.get_token(user, SCOPES, token_expires_in=timedelta(minutes=minutes))
    assert_service_error(
        excinfo, 400, "ValidationError", f"ExpiresInMinutes value {minutes} is invalid.", "ExpiresInMinutes", False
    )


@pytest.mark.parametrize("minutes", [1441, 59])
def test_expires_in_minutes_out_of_range_on_create(client, minutes):
    with pytest.raises(HttpResponseError) as excinfo:
        client.create_user_and_token(scopes=SCOPES, token_expires_in=timedelta(minutes=minutes))
    assert_service_error(
        excinfo, 400, "ValidationError", f"ExpiresInMinutes value {minutes} is invalid.", "ExpiresInMinutes", False
    )


def test_empty_scopes(client):
    user = client.create_user()
    with pytest.raises(HttpResponseError) as excinfo:
        client.get_token(user, [])
    assert_service_error(excinfo, 400, "ValidationError", "Invalid scopes - Scopes field is required.", "scopes")


def test_null_scopes(client):
    # For None the Python SDK omits `scopes` (it drops None fields); the service answers as for null.
    user = client.create_user()
    with pytest.raises(HttpResponseError) as excinfo:
        client.get_token(user, None)
    assert_service_error(excinfo, 400, "ValidationError", "Scopes: The Scopes field is required.", "Scopes")


def test_null_create_token_with_scopes(client):
    # The SDK drops None fields, so `createTokenWithScopes: null` cannot be sent through its public
    # API; send that body through the SDK's own pipeline (HMAC policy, error parsing) instead.
    from azure.core.rest import HttpRequest

    request = HttpRequest(
        "POST",
        "/identities",
        params={"api-version": "2023-10-01"},
        json={"createTokenWithScopes": None},
    )
    response = client._identity_service_client.send_request(request)
    with pytest.raises(HttpResponseError) as excinfo:
        response.raise_for_status()
    assert excinfo.value.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "ValidationError"
    assert body["message"] == "CreateTokenWithScopes value is missing."
    assert body["target"] == "CreateTokenWithScopes"


def foreign_user():
    return CommunicationUserIdentifier(f"8:acs:{uuid.uuid4()}_{uuid.uuid4().hex[:8]}-0000-0000-0000-000000000000")


@pytest.mark.parametrize("operation", ["get_token", "revoke_tokens", "delete_user"])
def test_identity_of_another_resource(client, operation):
    user = foreign_user()
    with pytest.raises(ClientAuthenticationError) as excinfo:
        if operation == "get_token":
            client.get_token(user, SCOPES)
        else:
            getattr(client, operation)(user)
    assert_service_error(excinfo, 401, "IdentityNotOwned", "Provided identity doesn't belong to the resource.")


@pytest.mark.parametrize(
    "bad_token",
    ["invalid", "", "expired"],
)
def test_teams_exchange_invalid_token(client, bad_token):
    app_id, user_object_id = str(uuid.uuid4()), str(uuid.uuid4())
    if bad_token == "expired":
        bad_token = entra_test_token(app_id, user_object_id, int(time.time()) - 600)
    with pytest.raises(ClientAuthenticationError) as excinfo:
        client.get_token_for_teams_user(bad_token, app_id, user_object_id)
    assert_service_error(excinfo, 401, "InvalidAccessToken", "Provided access token is not valid.")


def test_teams_exchange_wrong_app_id(client):
    app_id, user_object_id = str(uuid.uuid4()), str(uuid.uuid4())
    aad_token = entra_test_token(app_id, user_object_id, int(time.time()) + 3000)
    with pytest.raises(HttpResponseError) as excinfo:
        client.get_token_for_teams_user(aad_token, str(uuid.uuid4()), user_object_id)
    assert_service_error(excinfo, 400, "ValidationError", "AAD application is not the expected one.", "appId")


def test_teams_exchange_wrong_user_id(client):
    app_id, user_object_id = str(uuid.uuid4()), str(uuid.uuid4())
    aad_token = entra_test_token(app_id, user_object_id, int(time.time()) + 3000)
    with pytest.raises(HttpResponseError) as excinfo:
        client.get_token_for_teams_user(aad_token, app_id, str(uuid.uuid4()))
    assert_service_error(excinfo, 400, "ValidationError", "Provided AAD token issued for unexpected user.", "userId")


def test_wrong_access_key_is_rejected(emulator):
    wrong = CommunicationIdentityClient(emulator.endpoint, AzureKeyCredential("d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkh"))
    with pytest.raises(ClientAuthenticationError) as excinfo:
        wrong.create_user()
    assert excinfo.value.status_code == 401
    assert excinfo.value.error is not None and excinfo.value.error.code


# ---------------------------------------------------------------------------------------------------------
# The connection string as the SDK documents it: it forces https, so run the emulator with --tls.


def test_connection_string_over_tls(tls_emulator, monkeypatch):
    assert tls_emulator.endpoint.startswith("https://"), tls_emulator.connection_string
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_emulator.certificate_path())
    client = CommunicationIdentityClient.from_connection_string(tls_emulator.connection_string)
    user, token = client.create_user_and_token(scopes=SCOPES, token_expires_in=timedelta(minutes=60))
    assert user.properties["id"].startswith(f"8:acs:{tls_emulator.resource_id}_")
    again = client.get_token(user, [CommunicationTokenScope.CHAT])
    assert decode_jwt_payload(again.token)["acsScope"] == "chat"
    client.revoke_tokens(user)
    client.delete_user(user)
    assert os.path.isfile(tls_emulator.certificate_path())


def test_tampered_body_is_denied(client):
    # `raw_request_hook` runs after the SDK's HMAC policy signed the request: change the body so its
    # hash no longer matches `x-ms-content-sha256`.
    def tamper(pipeline_request):
        pipeline_request.http_request.set_json_body({"createTokenWithScopes": ["voip"]})

    with pytest.raises(ClientAuthenticationError) as excinfo:
        client.create_user_and_token(scopes=["chat"], raw_request_hook=tamper)
    assert_service_error(
        excinfo, 401, "Denied", "Request 'x-ms-content-sha256' differs from generated content hash."
    )


STABLE_API_VERSIONS = ["2021-03-07", "2022-06-01", "2022-10-01", "2023-10-01", "2025-06-30", "2026-09-23"]


@pytest.mark.parametrize("api_version", STABLE_API_VERSIONS)
def test_every_stable_api_version(emulator, api_version):
    client = CommunicationIdentityClient(
        emulator.endpoint, AzureKeyCredential(emulator.access_key), api_version=api_version
    )
    user, token = client.create_user_and_token(scopes=[CommunicationTokenScope.CHAT])
    assert decode_jwt_payload(token.token)["acsScope"] == "chat"
    again = client.get_token(user, [CommunicationTokenScope.VOIP])
    assert token_is_valid(emulator, again.token)
    client.revoke_tokens(user)
    assert not token_is_valid(emulator, again.token)
    client.delete_user(user)


def test_unknown_api_version_is_named(emulator):
    client = CommunicationIdentityClient(
        emulator.endpoint, AzureKeyCredential(emulator.access_key), api_version="2020-01-01"
    )
    with pytest.raises(HttpResponseError) as excinfo:
        client.create_user()
    assert excinfo.value.status_code == 400
    assert excinfo.value.error.code == "UnsupportedApiVersion"
    assert "2020-01-01" in excinfo.value.error.message
