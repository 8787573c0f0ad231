#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/<target>/ (run once; the seeds are checked in).

Signed requests use the targets' key and fixed time (fuzz/src/lib.rs: KEY, fixed_now), so they
stay valid for the fuzzed emulator.
"""
import base64, hashlib, hmac, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5"
DATE = "Thu, 26 Nov 2026 15:51:52 GMT"
HOST = "127.0.0.1"


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(payload, header=None):
    header = header or {"alg": "RS256", "typ": "JWT", "kid": "k"}
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), b64url(b"sig")])


def signed(method, target, body=b"", extra=""):
    content = base64.b64encode(hashlib.sha256(body).digest()).decode()
    to_sign = f"{method}\n{target}\n{DATE};{HOST};{content}"
    sig = base64.b64encode(hmac.new(base64.b64decode(KEY), to_sign.encode(), hashlib.sha256).digest()).decode()
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: {HOST}\r\nx-ms-date: {DATE}\r\n"
        f"x-ms-content-sha256: {content}\r\n"
        f"Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={sig}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


write("connection_string", "valid", f"endpoint=https://contoso.communication.azure.com/;accesskey={KEY}")
write("connection_string", "emulator", f"endpoint=http://127.0.0.1:8642/;accesskey={KEY}")
write("connection_string", "reordered", f" AccessKey = {KEY} ; ENDPOINT = https://a.example ; ")
write("connection_string", "padded_key", "endpoint=https://a.example/;accesskey=pw==")
write("connection_string", "path", f"endpoint=https://a.example/identities;accesskey={KEY}")
write("connection_string", "duplicate", f"endpoint=https://a/;endpoint=https://b/;accesskey={KEY}")
write("connection_string", "no_equals", "endpoint;accesskey")
write("connection_string", "userinfo", f"endpoint=https://u:p@a.example/;accesskey={KEY}")

for name, raw in {
    "acs": "8:acs:2dee53b4-368b-45b4-ab52-8493fb117652_00000018-8e3c-4a6b",
    "tpe": "8:acs:2dee53b4-368b-45b4-ab52-8493fb117652_tenant_user",
    "gcch": "8:gcch-acs:r_x", "dod": "8:dod-acs:r_x", "spool": "8:spool:x",
    "orgid": "8:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130", "visitor": "8:teamsvisitor:x",
    "phone": "4:+14255550123", "app": "28:orgid:app", "unknown": "9:x:y", "empty_rest": "8:acs:",
    "colons": "8:::::", "blank": "",
}.items():
    write("raw_id", name, raw)

write("jwt_claims", "acs", jwt({"skypeid": "acs:x", "scp": 1792, "exp": 1795711912, "iat": 1795708312, "acsScope": "chat,voip", "resourceId": "r"}))
write("jwt_claims", "entra", jwt({"aud": "https://communication.azure.com", "exp": 1795711912, "oid": "o", "appid": "a"}))
write("jwt_claims", "aud_array", jwt({"aud": ["x", "https://communication.azure.com/"], "exp": "soon"}))
write("jwt_claims", "padded", jwt({"exp": 1}) + "==")
write("jwt_claims", "huge_exp", jwt({"exp": 10**30, "iat": -10**30}))
write("jwt_claims", "not_json", "a.b.c")
write("jwt_claims", "two_parts", "a.b")

write("hmac_verify", "get", f"GET\n/identities?api-version=2023-10-01\n127.0.0.1:8642\n{DATE}\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nHMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA\n")
write("hmac_verify", "post_body", f"POST\n/identities/8%3Aacs%3Ax/:issueAccessToken?api-version=2023-10-01\nhost\n{DATE}\nx\nHMAC-SHA256 SignedHeaders=a&Signature=b\n{{\"scopes\":[\"chat\"]}}")
write("hmac_verify", "bad_date", "DELETE\n/\nh\nnot a date\n\nHMAC-SHA256\n")
write("hmac_verify", "empty", "")

write("emulator_request", "health", f"GET /emulator/health HTTP/1.1\r\nHost: {HOST}\r\n\r\n")
write("emulator_request", "jwks", f"GET /emulator/jwks HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
write("emulator_request", "create", signed("POST", "/identities?api-version=2023-10-01"))
write("emulator_request", "create_with_token", signed("POST", "/identities?api-version=2023-10-01", b'{"createTokenWithScopes":["chat","voip"],"expiresInMinutes":60}'))
write("emulator_request", "issue", signed("POST", "/identities/8%3Aacs%3A2dee53b4-368b-45b4-ab52-8493fb117652_x/:issueAccessToken?api-version=2023-10-01", b'{"scopes":["chat"]}'))
write("emulator_request", "revoke", signed("POST", "/identities/8:acs:2dee53b4-368b-45b4-ab52-8493fb117652_x/:revokeAccessTokens?api-version=2023-10-01"))
write("emulator_request", "delete", signed("DELETE", "/identities/8%3Aacs%3A2dee53b4-368b-45b4-ab52-8493fb117652_x?api-version=2023-10-01"))
entra = jwt({"aud": "https://api.spaces.skype.com", "exp": 1795711912, "oid": "45ab2481-1c1c-4005-be24-0ffb879b1130", "appid": "a"})
write("emulator_request", "teams", signed("POST", "/teamsUser/:exchangeAccessToken?api-version=2023-10-01", json.dumps({"token": entra, "appId": "a", "userId": "45ab2481-1c1c-4005-be24-0ffb879b1130"}).encode()))
# 2025-06-30 and 2025-03-02-preview: custom ids, GET identity, TPE and Entra assignments and exchanges.
T, O = "c70d068c-2f32-484d-9455-73070cd5aadd", "b27b64b9-39d2-44a3-869d-67700b74e805"
write("emulator_request", "create_custom_id", signed("POST", "/identities?api-version=2025-03-02-preview", b'{"customId":"sally@contoso.com","createTokenWithScopes":["chat"]}'))
write("emulator_request", "get_identity", signed("GET", "/identities/8%3Aacs%3A2dee53b4-368b-45b4-ab52-8493fb117652_x?api-version=2025-03-02-preview"))
write("emulator_request", "tpe_put", signed("PUT", f"/access/teamsExtension/tenants/{T}/assignments/{O}?api-version=2025-06-30", b'{"principalType":"user","clientIds":["a"]}'))
write("emulator_request", "tpe_get", signed("GET", f"/access/teamsExtension/tenants/{T}/assignments/{O}?api-version=2025-06-30"))
write("emulator_request", "tpe_delete", signed("DELETE", f"/access/teamsExtension/tenants/{T}/assignments/{O}?api-version=2025-06-30"))
tpe = jwt({"aud": "https://auth.msft.communication.azure.com", "scp": "TeamsExtension.ManageCalls", "exp": 1795711912, "tid": T, "oid": O, "appid": "a"})
write("emulator_request", "tpe_exchange", f"POST /access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30 HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {tpe}\r\nContent-Length: 2\r\n\r\n{{}}")
write("emulator_request", "entra_put", signed("PUT", f"/access/entra/assignments/{O}?api-version=2025-03-02-preview", f'{{"tenantId":"{T}","principalType":"user","clientIds":["a"]}}'.encode()))
write("emulator_request", "entra_patch", signed("PATCH", "/access/entra/assignments?api-version=2025-03-02-preview", f'{{"{O}":{{"tenantId":"{T}","principalType":"group","clientIds":[]}},"{T}":null}}'.encode()))
write("emulator_request", "entra_list", signed("GET", "/access/entra/assignments?api-version=2025-03-02-preview&continuationToken=x"))
user = jwt({"aud": "https://communication.azure.com/clients", "exp": 1795711912, "tid": T, "oid": O, "azp": "a", "groups": [O]})
write("emulator_request", "entra_exchange", f"POST /access/entra/:exchangeAccessToken?api-version=2025-03-02-preview HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {user}\r\nContent-Length: 2\r\n\r\n{{}}")
write("emulator_request", "validate", f"POST /emulator/tokens:validate HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 16\r\n\r\n{{\"token\":\"a.b\"}}")
write("emulator_request", "chunked", f"POST /emulator/tokens:validate HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
write("emulator_request", "bearer", f"POST /identities?api-version=2023-10-01 HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {jwt({'aud': 'https://communication.azure.com', 'exp': 1795711912})}\r\nContent-Length: 0\r\n\r\n")
write("emulator_request", "foreign_host", "GET /emulator/health HTTP/1.1\r\nHost: evil.example\r\n\r\n")
write("emulator_request", "two_hosts", f"GET /emulator/health HTTP/1.1\r\nHost: {HOST}\r\nHost: {HOST}\r\n\r\n")
write("emulator_request", "pipelined", f"GET /emulator/health HTTP/1.1\r\nHost: {HOST}\r\n\r\nGET /emulator/jwks HTTP/1.1\r\nHost: {HOST}\r\n\r\n")
write("emulator_request", "truncated_body", f"POST /emulator/tokens:validate HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 100\r\n\r\n{{")
write("emulator_request", "http2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
write("emulator_request", "garbage", b"\x00\xff\r\n\r\n")
