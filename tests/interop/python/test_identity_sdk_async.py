"""The async client of the Python SDK (`azure.communication.identity.aio`, aiohttp transport).

Its HMAC policy signs the percent-decoded path (`decode_url=True`) because aiohttp sends ids raw
(`8:acs:...`), so this covers the emulator verifying an unencoded request target.
"""

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from azure.communication.identity import CommunicationTokenScope
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from conftest import decode_jwt_payload, entra_test_token, token_is_valid

SCOPES = [CommunicationTokenScope.CHAT, CommunicationTokenScope.VOIP]


def run(emulator, scenario):
    async def main():
        async with CommunicationIdentityClient(emulator.endpoint, AzureKeyCredential(emulator.access_key)) as client:
            return await scenario(client)

    return asyncio.run(main())


def test_async_client_six_operations(emulator):
    async def scenario(client):
        user = await client.create_user()
        assert user.properties["id"].startswith(f"8:acs:{emulator.resource_id}_")
        user2, first = await client.create_user_and_token(SCOPES, token_expires_in=timedelta(minutes=60))
        assert decode_jwt_payload(first.token)["acsScope"] == "chat,voip"
        second = await client.get_token(user2, [CommunicationTokenScope.VOIP])
        assert decode_jwt_payload(second.token)["skypeid"] == user2.properties["id"][len("8:") :]
        app_id, oid = str(uuid.uuid4()), str(uuid.uuid4())
        teams = await client.get_token_for_teams_user(
            entra_test_token(app_id, oid, int(time.time()) + 3000), app_id, oid
        )
        assert decode_jwt_payload(teams.token)["skypeid"] == f"orgid:{oid}"
        await client.revoke_tokens(user2)
        await client.delete_user(user)
        return first.token, second.token

    first, second = run(emulator, scenario)
    assert not token_is_valid(emulator, first)
    assert not token_is_valid(emulator, second)


def test_async_client_errors(emulator):
    async def scenario(client):
        user = await client.create_user()
        with pytest.raises(HttpResponseError) as out_of_range:
            await client.get_token(user, SCOPES, token_expires_in=timedelta(minutes=1441))
        with pytest.raises(ClientAuthenticationError) as foreign:
            await client.revoke_tokens(
                type(user)(f"8:acs:{uuid.uuid4()}_{uuid.uuid4()}")
            )
        return out_of_range.value, foreign.value

    out_of_range, foreign = run(emulator, scenario)
    assert out_of_range.status_code == 400
    assert out_of_range.error.code == "ValidationError"
    assert out_of_range.error.message.startswith("ExpiresInMinutes value 1441 is invalid.")
    assert foreign.status_code == 401
    assert foreign.error.code == "IdentityNotOwned"
    assert foreign.error.message == "Provided identity doesn't belong to the resource."
