// The official JS SDK (@azure/communication-identity 1.3.1, @azure/core-rest-pipeline's default retry
// policy: 3 retries, exponential backoff from 1 s on 408/5xx and connection errors, Retry-After honoured on
// 429 and 503) against faults the emulator injects on demand and against its throttling: the SDK retries and
// succeeds, and a fault that never clears surfaces as the service error.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";

import { emulatorControl, loadSdk, startEmulator } from "./emulator.mjs";

const { sdk } = loadSdk();
const { CommunicationIdentityClient } = sdk;

const clientFor = (emulator) =>
  new CommunicationIdentityClient(emulator.connectionString, { allowInsecureConnection: true });
const addFault = (emulator, rule) => emulatorControl(emulator, "PUT", "/emulator/controls", { faults: [rule] });
const faultsLeft = async (emulator) => (await emulatorControl(emulator, "GET", "/emulator/controls")).faults;

describe("injected faults", () => {
  // Its own process: the injected 5xx answers show in its request log, which the main suite's emulator is
  // checked for.
  let emulator;
  let client;

  before(async () => {
    emulator = await startEmulator();
    client = clientFor(emulator);
  });
  afterEach(async () => {
    await emulatorControl(emulator, "PUT", "/emulator/controls", {});
  });
  after(async () => {
    await emulator?.stop();
  });

  test("two injected 503s, then success on the third try", async () => {
    await addFault(emulator, { operation: "createIdentity", status: 503, count: 2 });
    const user = await client.createUser();
    assert.ok(user.communicationUserId.startsWith(`8:acs:${emulator.resourceId}_`));
    assert.deepEqual(await faultsLeft(emulator), [], "both injected answers were used: three tries");
    const listed = (await emulatorControl(emulator, "GET", "/emulator/identities")).value;
    assert.ok(listed.some((entry) => entry.id === user.communicationUserId));
  });

  test("two injected 429s with Retry-After, then success", async () => {
    const user = await client.createUser();
    await addFault(emulator, { operation: "issueToken", status: 429, count: 2, retryAfter: 1 });
    const started = Date.now();
    const { token } = await client.getToken(user, ["chat"]);
    assert.equal(token.split(".").length, 3);
    assert.deepEqual(await faultsLeft(emulator), []);
    assert.ok(Date.now() - started >= 2000, "the SDK waited Retry-After (1 s) before each retry");
  });

  test("a 503 that never clears surfaces the service error", async () => {
    const user = await client.createUser();
    await addFault(emulator, { operation: "revokeTokens", status: 503, retryAfter: 1 });
    await assert.rejects(client.revokeTokens(user), (error) => {
      assert.equal(error.name, "RestError");
      assert.equal(error.statusCode, 503);
      assert.equal(error.code, "ServiceUnavailable");
      assert.match(error.message, /^Fault injected by the emulator \(rule \d+, operation revokeTokens\)\.$/);
      return true;
    });
    assert.equal((await faultsLeft(emulator)).length, 1, "the rule is still in force");
  });

  test("a 429 that never clears surfaces the service error", async () => {
    await addFault(emulator, { operation: "createIdentityAndToken", status: 429, retryAfter: 1 });
    await assert.rejects(client.createUserAndToken(["chat"]), (error) => {
      assert.equal(error.statusCode, 429);
      assert.equal(error.code, "TooManyRequests");
      return true;
    });
    // Other operations are not affected.
    assert.ok((await client.createUser()).communicationUserId.startsWith("8:acs:"));
  });
});

test("throttling at scaled limits is retried after Retry-After", async () => {
  // One request of each operation per 2-second window: the second create is throttled (429 with
  // Retry-After), the SDK waits and succeeds once the window frees.
  const emulator = await startEmulator({ extraArgs: ["--controls", '{"throttling":{"scale":0.001,"windowSeconds":2}}'] });
  try {
    const client = clientFor(emulator);
    const first = await client.createUser();
    const second = await client.createUser();
    assert.notEqual(first.communicationUserId, second.communicationUserId);
    assert.match(emulator.log(), /status=429/, "the emulator throttled the second create");
  } finally {
    await emulator.stop();
  }
});
