// Child process of entra_credential.test.mjs: the official AzureCommunicationTokenCredential of
// @azure/communication-common with Entra options, against a --tls emulator trusted through
// NODE_EXTRA_CA_CERTS (read by node at start, hence a process of its own).
//
// Input (environment): INTEROP_SDK_PACKAGE_JSON (where the package is installed), INTEROP_ENDPOINT,
// INTEROP_ENTRA_TOKEN (what the fake tokenCredential returns), INTEROP_SCOPES (JSON array).
// Output (last stdout line, JSON): the ACS token or the error, the scopes the credential asked the
// tokenCredential for, and every HTTP request the SDK sent (method, path, headers, body), recorded by
// wrapping node:https.request.
import https from "node:https";
import { createRequire } from "node:module";

const requests = [];
const originalRequest = https.request;
https.request = function recordingRequest(options, ...rest) {
  const req = originalRequest.call(this, options, ...rest);
  const record = { method: options.method, path: options.path, headers: options.headers, body: "" };
  requests.push(record);
  const originalEnd = req.end.bind(req);
  req.end = (chunk, ...more) => {
    if (chunk !== undefined && typeof chunk !== "function") record.body += chunk.toString();
    return originalEnd(chunk, ...more);
  };
  return req;
};

const require = createRequire(process.env.INTEROP_SDK_PACKAGE_JSON);
const { AzureCommunicationTokenCredential } = require("@azure/communication-common");
const requestedScopes = [];
const tokenCredential = {
  async getToken(scopes) {
    requestedScopes.push(scopes);
    const payload = JSON.parse(Buffer.from(process.env.INTEROP_ENTRA_TOKEN.split(".")[1], "base64url"));
    return { token: process.env.INTEROP_ENTRA_TOKEN, expiresOnTimestamp: payload.exp * 1000 };
  },
};

const result = { requestedScopes, requests };
try {
  const credential = new AzureCommunicationTokenCredential({
    resourceEndpoint: process.env.INTEROP_ENDPOINT,
    tokenCredential,
    scopes: JSON.parse(process.env.INTEROP_SCOPES),
  });
  const token = await credential.getToken();
  result.token = token.token;
  result.expiresOnTimestamp = token.expiresOnTimestamp;
  credential.dispose();
} catch (error) {
  result.error = String(error?.message ?? error);
}
console.log(JSON.stringify(result));
