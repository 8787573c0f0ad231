// The official AzureCommunicationTokenCredential of @azure/communication-common 2.5.0 with Entra options
// ({resourceEndpoint, tokenCredential, scopes}) against the emulator started with --tls: Teams Phone
// extension scopes make it call POST /access/teamsExtension/:exchangeAccessToken (api-version
// 2025-06-30), scopes under https://communication.azure.com/clients/ the Entra ID exchange of
// 2025-03-02-preview. The SDK runs in a child process (entra_credential_client.mjs) that trusts the
// emulator's CA through NODE_EXTRA_CA_CERTS; its tokenCredential is a fake returning an unsigned
// Entra-like JWT made here.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";

import { emulatorRequest, entraUserToken, installedVersion, sdkPackageJson, startEmulator } from "./emulator.mjs";

const execFileAsync = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const TPE_SCOPE = "https://auth.msft.communication.azure.com/TeamsExtension.ManageCalls";
const CLIENTS_SCOPE = "https://communication.azure.com/clients/.default";
const TENANT = randomUUID();
const APP = randomUUID();

let emulator;

before(async () => {
  assert.equal(installedVersion("@azure/communication-common"), "2.5.0", "the pinned SDK version must be installed");
  emulator = await startEmulator({ tls: true });
  assert.ok(emulator.endpoint.startsWith("https://127.0.0.1:"), emulator.endpoint);
});

after(async () => {
  const serverErrors = (await emulator?.stop()) ?? [];
  assert.deepEqual(serverErrors, [], "the emulator answered 5xx or panicked");
});

/** Runs the credential in a child process; resolves to what it reports. */
async function credentialGetToken(entraToken, scopes) {
  const { stdout } = await execFileAsync(process.execPath, [join(here, "entra_credential_client.mjs")], {
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: emulator.caCertPath,
      INTEROP_SDK_PACKAGE_JSON: sdkPackageJson(),
      INTEROP_ENDPOINT: emulator.endpoint,
      INTEROP_ENTRA_TOKEN: entraToken,
      INTEROP_SCOPES: JSON.stringify(scopes),
    },
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split("\n").pop());
}

async function validate(token) {
  const answer = await emulatorRequest(emulator, "POST", "/emulator/tokens:validate", { body: { token }, sign: false });
  assert.equal(answer.status, 200);
  return answer.body;
}

/** Every request the SDK sent is the exchange: POST, `{}`, the Entra token as the bearer token. */
function assertExchangeRequests(result, path, entraToken) {
  assert.ok(result.requests.length >= 1, "the SDK sent no request");
  for (const request of result.requests) {
    assert.equal(request.method, "POST");
    assert.equal(request.path, path);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(headers.authorization, `Bearer ${entraToken}`);
    assert.match(headers["content-type"], /^application\/json/);
    assert.equal(request.body, "{}");
  }
}

describe("AzureCommunicationTokenCredential with Entra options", () => {
  test("Teams Phone extension scope: the TPE exchange of 2025-06-30", async () => {
    const user = randomUUID();
    const put = await emulatorRequest(
      emulator,
      "PUT",
      `/access/teamsExtension/tenants/${TENANT}/assignments/${user}?api-version=2025-06-30`,
      { body: { principalType: "user", clientIds: [APP] } },
    );
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const entraToken = entraUserToken({
      aud: "https://auth.msft.communication.azure.com",
      scp: "TeamsExtension.ManageCalls",
      tid: TENANT,
      oid: user,
      appId: APP,
      exp,
    });
    const result = await credentialGetToken(entraToken, [TPE_SCOPE]);
    assert.equal(result.error, undefined, result.error);
    assert.deepEqual(result.requestedScopes[0], [TPE_SCOPE]);
    assertExchangeRequests(result, "/access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30", entraToken);
    assert.equal(result.expiresOnTimestamp, exp * 1000, "expires with the Entra token");
    const validation = await validate(result.token);
    assert.equal(validation.valid, true, JSON.stringify(validation));
    assert.equal(validation.identity, `8:acs:${emulator.resourceId}_${TENANT}_${user}`);
  });

  test("Teams Phone extension scope of a user without an assignment: the service's 403 surfaces", async () => {
    const entraToken = entraUserToken({
      aud: "https://auth.msft.communication.azure.com",
      scp: "TeamsExtension.ManageCalls",
      tid: TENANT,
      oid: randomUUID(),
      appId: APP,
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const result = await credentialGetToken(entraToken, [TPE_SCOPE]);
    assert.match(result.error ?? "", /^Service request failed\. Status: 403, Body: .*"code":"Forbidden"/);
    assertExchangeRequests(result, "/access/teamsExtension/:exchangeAccessToken?api-version=2025-06-30", entraToken);
  });

  test("scopes under communication.azure.com/clients/: the Entra ID exchange of 2025-03-02-preview", async () => {
    const user = randomUUID();
    const put = await emulatorRequest(
      emulator,
      "PUT",
      `/access/entra/assignments/${user}?api-version=2025-03-02-preview`,
      { body: { tenantId: TENANT, principalType: "user", clientIds: [APP] } },
    );
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const exp = Math.floor(Date.now() / 1000) + 1800;
    const entraToken = entraUserToken({
      aud: "https://communication.azure.com/clients",
      scp: "VoIP",
      tid: TENANT,
      oid: user,
      appId: APP,
      exp,
    });
    const result = await credentialGetToken(entraToken, [CLIENTS_SCOPE]);
    assert.equal(result.error, undefined, result.error);
    assert.deepEqual(result.requestedScopes[0], [CLIENTS_SCOPE]);
    assertExchangeRequests(result, "/access/entra/:exchangeAccessToken?api-version=2025-03-02-preview", entraToken);
    assert.equal(result.expiresOnTimestamp, exp * 1000);
    const validation = await validate(result.token);
    assert.equal(validation.valid, true, JSON.stringify(validation));
    assert.equal(validation.identity, `8:acs:${emulator.resourceId}_wf_${TENANT}_${user}`);
  });

  test("a group assignment lets its members exchange", async () => {
    const group = randomUUID();
    const patch = await emulatorRequest(emulator, "PATCH", "/access/entra/assignments?api-version=2025-03-02-preview", {
      body: { [group]: { tenantId: TENANT, principalType: "group", clientIds: [] } },
    });
    assert.equal(patch.status, 200, JSON.stringify(patch.body));
    const user = randomUUID();
    const entraToken = entraUserToken({
      aud: "https://communication.azure.com/clients",
      scp: "VoIP",
      tid: TENANT,
      oid: user,
      appId: randomUUID(),
      exp: Math.floor(Date.now() / 1000) + 1800,
      groups: [group],
    });
    const result = await credentialGetToken(entraToken, [CLIENTS_SCOPE]);
    assert.equal(result.error, undefined, result.error);
    assert.equal((await validate(result.token)).identity, `8:acs:${emulator.resourceId}_wf_${TENANT}_${user}`);
  });
});
