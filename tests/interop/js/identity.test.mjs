// The official JS SDK (@azure/communication-identity 1.3.1) against the emulator, with its default HMAC policy.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";

import {
  decodeJwtHeader,
  decodeJwtPayload,
  entraTestToken,
  loadSdk,
  sdkPackageJson,
  startEmulator,
  tokenIsValid,
} from "./emulator.mjs";

const { sdk, version } = loadSdk();
const { CommunicationIdentityClient } = sdk;
const SCOPES = ["chat", "voip"];
const execFileAsync = promisify(execFile);

let emulator;
let client;

before(async () => {
  assert.equal(version, "1.3.1", "the pinned SDK version must be installed");
  emulator = await startEmulator();
  // The SDK refuses plain http unless told; the connection string is used exactly as printed.
  client = new CommunicationIdentityClient(emulator.connectionString, { allowInsecureConnection: true });
});

after(async () => {
  const serverErrors = (await emulator?.stop()) ?? [];
  assert.deepEqual(serverErrors, [], "the emulator answered 5xx or panicked");
});

async function assertServiceError(promise, status, code, message, { exact = true } = {}) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.name, "RestError", `expected a RestError, got ${error}`);
    assert.equal(error.statusCode, status, `status ${error.statusCode}: ${error.message}`);
    assert.equal(error.code, code);
    if (exact) assert.equal(error.message, message);
    else assert.ok(error.message.startsWith(message), error.message);
    const body = JSON.parse(error.response.bodyAsText);
    assert.equal(body.error.code, code);
    return true;
  });
}

const secondsUntil = (date) => (date.getTime() - Date.now()) / 1000;

describe("the six operations", () => {
  test("createUser", async () => {
    const user = await client.createUser();
    assert.ok(user.communicationUserId.startsWith(`8:acs:${emulator.resourceId}_`), user.communicationUserId);
  });

  test("createUserAndToken with chat+voip for 60 minutes", async () => {
    const { user, token, expiresOn } = await client.createUserAndToken(SCOPES, { tokenExpiresInMinutes: 60 });
    assert.ok(user.communicationUserId.startsWith(`8:acs:${emulator.resourceId}_`));
    assert.ok(Math.abs(secondsUntil(expiresOn) - 3600) < 60, `expiresOn ${expiresOn.toISOString()}`);
    const header = decodeJwtHeader(token);
    const claims = decodeJwtPayload(token);
    assert.equal(header.alg, "RS256");
    assert.ok(header.kid);
    assert.equal(claims.skypeid, user.communicationUserId.slice("8:".length));
    assert.equal(claims.acsScope, "chat,voip");
    assert.equal(claims.resourceId, emulator.resourceId);
    assert.equal(claims.exp, Math.floor(expiresOn.getTime() / 1000));
    assert.equal(await tokenIsValid(emulator, token), true);
  });

  test("createUserAndToken defaults to 24 hours", async () => {
    const { expiresOn } = await client.createUserAndToken(["chat"]);
    assert.ok(Math.abs(secondsUntil(expiresOn) - 24 * 3600) < 60, expiresOn.toISOString());
  });

  test("getToken", async () => {
    const user = await client.createUser();
    const { token, expiresOn } = await client.getToken(user, SCOPES, { tokenExpiresInMinutes: 120 });
    assert.ok(Math.abs(secondsUntil(expiresOn) - 7200) < 60, expiresOn.toISOString());
    const claims = decodeJwtPayload(token);
    assert.equal(claims.skypeid, user.communicationUserId.slice("8:".length));
    assert.equal(claims.acsScope, "chat,voip");
    assert.equal(await tokenIsValid(emulator, token), true);
  });

  test("getTokenForTeamsUser", async () => {
    const clientId = randomUUID();
    const userObjectId = randomUUID();
    const expiresAt = Math.floor(Date.now() / 1000) + 3000;
    const teamsUserAadToken = entraTestToken(clientId, userObjectId, expiresAt);
    const { token, expiresOn } = await client.getTokenForTeamsUser({ teamsUserAadToken, clientId, userObjectId });
    assert.ok(Math.abs(expiresOn.getTime() / 1000 - expiresAt) <= 1, expiresOn.toISOString());
    assert.equal(decodeJwtPayload(token).skypeid, `orgid:${userObjectId}`);
    assert.equal(await tokenIsValid(emulator, token), true);
  });

  test("revokeTokens", async () => {
    const { user, token } = await client.createUserAndToken(SCOPES);
    assert.equal(await tokenIsValid(emulator, token), true);
    await client.revokeTokens(user);
    assert.equal(await tokenIsValid(emulator, token), false, "a token issued before the revoke is invalid");
    const fresh = await client.getToken(user, SCOPES);
    assert.equal(await tokenIsValid(emulator, fresh.token), true, "a token issued after the revoke is valid");
  });

  test("deleteUser", async () => {
    const { user, token } = await client.createUserAndToken(SCOPES);
    await client.deleteUser(user);
    assert.equal(await tokenIsValid(emulator, token), false, "delete revokes the identity's tokens");
    await assert.rejects(client.getToken(user, SCOPES), (error) => {
      assert.ok(error.statusCode >= 400 && error.statusCode < 500, String(error.statusCode));
      assert.ok(error.code, "a deleted identity's error carries a code");
      return true;
    });
  });
});

describe("the error table of service.md", () => {
  for (const minutes of [1441, 59]) {
    test(`getToken with tokenExpiresInMinutes ${minutes}`, async () => {
      const user = await client.createUser();
      await assertServiceError(
        client.getToken(user, SCOPES, { tokenExpiresInMinutes: minutes }),
        400,
        "ValidationError",
        `ExpiresInMinutes value ${minutes} is invalid.`,
        { exact: false },
      );
    });

    test(`createUserAndToken with tokenExpiresInMinutes ${minutes}`, async () => {
      await assertServiceError(
        client.createUserAndToken(SCOPES, { tokenExpiresInMinutes: minutes }),
        400,
        "ValidationError",
        `ExpiresInMinutes value ${minutes} is invalid.`,
        { exact: false },
      );
    });
  }

  test("getToken with empty scopes", async () => {
    const user = await client.createUser();
    await assertServiceError(
      client.getToken(user, []),
      400,
      "ValidationError",
      "Invalid scopes - Scopes field is required.",
    );
  });

  const foreignUser = () => ({ communicationUserId: `8:acs:${randomUUID()}_${randomUUID()}` });
  for (const operation of ["getToken", "revokeTokens", "deleteUser"]) {
    test(`${operation} for an identity of another resource`, async () => {
      const call =
        operation === "getToken" ? client.getToken(foreignUser(), SCOPES) : client[operation](foreignUser());
      await assertServiceError(call, 401, "IdentityNotOwned", "Provided identity doesn't belong to the resource.");
    });
  }

  for (const kind of ["malformed", "empty", "expired"]) {
    test(`getTokenForTeamsUser with an ${kind} token`, async () => {
      const clientId = randomUUID();
      const userObjectId = randomUUID();
      const teamsUserAadToken = {
        malformed: "invalid",
        empty: "",
        expired: entraTestToken(clientId, userObjectId, Math.floor(Date.now() / 1000) - 600),
      }[kind];
      await assertServiceError(
        client.getTokenForTeamsUser({ teamsUserAadToken, clientId, userObjectId }),
        401,
        "InvalidAccessToken",
        "Provided access token is not valid.",
      );
    });
  }

  test("getTokenForTeamsUser with the wrong appId", async () => {
    const clientId = randomUUID();
    const userObjectId = randomUUID();
    const teamsUserAadToken = entraTestToken(clientId, userObjectId, Math.floor(Date.now() / 1000) + 3000);
    await assertServiceError(
      client.getTokenForTeamsUser({ teamsUserAadToken, clientId: randomUUID(), userObjectId }),
      400,
      "ValidationError",
      "AAD application is not the expected one.",
    );
  });

  test("getTokenForTeamsUser with the wrong userId", async () => {
    const clientId = randomUUID();
    const userObjectId = randomUUID();
    const teamsUserAadToken = entraTestToken(clientId, userObjectId, Math.floor(Date.now() / 1000) + 3000);
    await assertServiceError(
      client.getTokenForTeamsUser({ teamsUserAadToken, clientId, userObjectId: randomUUID() }),
      400,
      "ValidationError",
      "Provided AAD token issued for unexpected user.",
    );
  });

  test("a body changed after signing is Denied", async () => {
    const tampering = new CommunicationIdentityClient(emulator.connectionString, { allowInsecureConnection: true });
    // Added after the SDK's HMAC policy, so it runs once the request is signed.
    tampering.client.pipeline.addPolicy({
      name: "interopTamperBody",
      sendRequest(request, next) {
        request.body = JSON.stringify({ createTokenWithScopes: ["voip"] });
        return next(request);
      },
    });
    await assertServiceError(
      tampering.createUserAndToken(["chat"]),
      401,
      "Denied",
      "Request 'x-ms-content-sha256' differs from generated content hash.",
    );
  });

  test("a wrong access key is rejected with 401", async () => {
    const wrongKey = Buffer.from("wrong-key-wrong-key-wrong-key-!!").toString("base64");
    const wrong = new CommunicationIdentityClient(`endpoint=${emulator.endpoint}/;accesskey=${wrongKey}`, {
      allowInsecureConnection: true,
    });
    await assert.rejects(wrong.createUser(), (error) => {
      assert.equal(error.statusCode, 401);
      assert.ok(error.code, "a 401 carries a CommunicationErrorResponse code");
      return true;
    });
  });
});

describe("https with the connection string as printed (--tls)", () => {
  test("createUserAndToken and getToken over TLS, trusting the emulator's CA", async () => {
    const tlsEmulator = await startEmulator({ tls: true });
    try {
      assert.ok(tlsEmulator.connectionString.startsWith("endpoint=https://"), tlsEmulator.connectionString);
      // Node reads NODE_EXTRA_CA_CERTS only at start, so the scenario runs in a child process.
      const script = `
        const { createRequire } = require("node:module");
        const sdkRequire = createRequire(process.env.INTEROP_SDK_PACKAGE_JSON);
        const { CommunicationIdentityClient } = sdkRequire("@azure/communication-identity");
        (async () => {
          const client = new CommunicationIdentityClient(process.env.INTEROP_CONNECTION_STRING);
          const { user, token } = await client.createUserAndToken(["chat"], { tokenExpiresInMinutes: 60 });
          const again = await client.getToken(user, ["voip"]);
          await client.revokeTokens(user);
          await client.deleteUser(user);
          console.log(JSON.stringify({ id: user.communicationUserId, token, again: again.token }));
        })().catch((error) => { console.error(error); process.exit(1); });
      `;
      const { stdout } = await execFileAsync(process.execPath, ["-e", script], {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: tlsEmulator.caCertPath,
          INTEROP_SDK_PACKAGE_JSON: sdkPackageJson(),
          INTEROP_CONNECTION_STRING: tlsEmulator.connectionString,
        },
        timeout: 30_000,
      });
      const result = JSON.parse(stdout.trim().split("\n").pop());
      assert.ok(result.id.startsWith(`8:acs:${tlsEmulator.resourceId}_`), result.id);
      assert.equal(decodeJwtPayload(result.token).acsScope, "chat");
      assert.equal(decodeJwtPayload(result.again).acsScope, "voip");
    } finally {
      const serverErrors = await tlsEmulator.stop();
      assert.deepEqual(serverErrors, [], "the TLS emulator answered 5xx or panicked");
    }
  });
});
