// Starts a fresh `acs-identity-emulator` process for the JS interop suite and offers small helpers.
//
// The binary comes from ACS_EMULATOR_BIN (set by .ci/interop.sh), else target/debug/acs-identity-emulator.
// The SDK is loaded from INTEROP_NODE_PREFIX (default target/interop/node), where .ci/interop.sh installs it.
import { spawn } from "node:child_process";
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "..", "..", "..");
const START_TIMEOUT_MS = 30_000;

/** The package.json of the directory the SDK is installed under (for createRequire). */
export function sdkPackageJson() {
  const prefix = process.env.INTEROP_NODE_PREFIX ?? join(repoRoot, "target", "interop", "node");
  return join(prefix, "package.json");
}

/** The package.json of an installed npm package (under INTEROP_NODE_PREFIX). */
export function installedVersion(name) {
  return createRequire(sdkPackageJson())(`${name}/package.json`).version;
}

export function loadSdk() {
  const require = createRequire(sdkPackageJson());
  const sdk = require("@azure/communication-identity");
  const version = require("@azure/communication-identity/package.json").version;
  return { sdk, version };
}

export function parseConnectionString(text) {
  const parts = {};
  for (const element of text.trim().split(";")) {
    if (!element) continue;
    const at = element.indexOf("=");
    parts[element.slice(0, at).trim().toLowerCase()] = element.slice(at + 1).trim();
  }
  return { endpoint: parts.endpoint, accessKey: parts.accesskey };
}

/**
 * Starts the emulator on 127.0.0.1 with a port of its choosing (in memory, or with `tls` on a temporary
 * data directory, serving https); resolves once it printed its connection string.
 */
export async function startEmulator({ tls = false, extraArgs = [] } = {}) {
  const binary =
    process.env.ACS_EMULATOR_BIN ?? join(repoRoot, "target", "debug", "acs-identity-emulator");
  if (!existsSync(binary)) {
    throw new Error(`emulator binary not found at ${binary}; build it with cargo build -p acs-identity-emulator`);
  }
  const resourceId = randomUUID();
  const accessKey = randomBytes(32).toString("base64");
  const workDir = mkdtempSync(join(tmpdir(), "acs-interop-js-"));
  const logPath = join(workDir, "emulator.log");
  const logFd = openSync(logPath, "w");
  const dataDir = join(workDir, "data");
  const storage = tls ? ["--data-dir", dataDir, "--tls"] : ["--in-memory"];
  const child = spawn(
    binary,
    ["--listen", "127.0.0.1:0", "--access-key", accessKey, "--resource-id", resourceId, ...storage, ...extraArgs],
    { stdio: ["ignore", "pipe", logFd] },
  );
  closeSync(logFd);
  const lines = createInterface({ input: child.stdout });
  const firstLine = await new Promise((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error("emulator printed nothing in time")), START_TIMEOUT_MS);
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolveLine(line);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code}: ${readFileSync(logPath, "utf8").slice(-4000)}`));
    });
  });
  lines.on("line", () => {}); // keep draining stdout
  const match = /connection string:\s*(\S+)/.exec(firstLine);
  if (!match) {
    child.kill("SIGTERM");
    throw new Error(`unexpected first line from emulator: ${JSON.stringify(firstLine)}`);
  }
  const connectionString = match[1];
  const parsed = parseConnectionString(connectionString);
  if (parsed.accessKey !== accessKey) {
    child.kill("SIGTERM");
    throw new Error("the printed connection string does not carry the key passed with --access-key");
  }
  return {
    connectionString,
    endpoint: parsed.endpoint.replace(/\/+$/, ""),
    accessKey,
    resourceId,
    /** The CA certificate a --tls emulator writes to its data directory. */
    caCertPath: join(dataDir, "tls-ca-cert.pem"),
    /** The emulator's log so far (stderr). */
    log() {
      return readFileSync(logPath, "utf8");
    },
    /** Stops the process; returns the request-log lines showing a 5xx answer or a panic. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      const serverErrors = readFileSync(logPath, "utf8")
        .split("\n")
        .filter((line) => /status=5\d\d|panicked/.test(line));
      rmSync(workDir, { recursive: true, force: true });
      return serverErrors;
    },
  };
}

const b64url = (buffer) => Buffer.from(buffer).toString("base64url");

export function decodeJwtPayload(token) {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("an access token is a three-part JWT");
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

export function decodeJwtHeader(token) {
  return JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString("utf8"));
}

/** An Entra-like access token of a Teams user, unsigned (the emulator decodes but does not verify it). */
export function entraTestToken(appId, userObjectId, expiresAtSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: "JWT", alg: "RS256", kid: "interop-test" };
  const payload = {
    aud: "https://auth.msft.communication.azure.com",
    iss: "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
    iat: now - 60,
    nbf: now - 60,
    exp: expiresAtSeconds,
    appid: appId,
    azp: appId,
    oid: userObjectId,
    tid: "00000000-0000-0000-0000-000000000001",
    scp: "Teams.ManageCalls Teams.ManageChats",
    ver: "1.0",
  };
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${b64url(randomBytes(64))}`;
}

/** POST signed with the service's HMAC-SHA256 scheme (for the emulator-only endpoints). */
export async function signedPost(emulator, path, body) {
  const url = new URL(emulator.endpoint + path);
  const data = Buffer.from(JSON.stringify(body), "utf8");
  const date = new Date().toUTCString();
  const contentHash = createHash("sha256").update(data).digest("base64");
  const toSign = `POST\n${url.pathname}${url.search}\n${date};${url.host};${contentHash}`;
  const signature = createHmac("sha256", Buffer.from(emulator.accessKey, "base64"))
    .update(toSign, "utf8")
    .digest("base64");
  return fetch(url, {
    method: "POST",
    body: data,
    headers: {
      "content-type": "application/json",
      "x-ms-date": date,
      "x-ms-content-sha256": contentHash,
      authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
    },
  });
}

/** A call to an emulator-only control endpoint (`/emulator/controls`, `/emulator/reset`, ...): no signing. */
export async function emulatorControl(emulator, method, path, body) {
  const response = await fetch(emulator.endpoint + path, {
    method,
    // Always JSON: the emulator refuses a control POST or PUT that does not say so (a web page's form).
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) {
    throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

export async function tokenIsValid(emulator, token) {
  const response = await signedPost(emulator, "/emulator/tokens:validate", { token });
  if (response.status !== 200) {
    throw new Error(`validate endpoint answered ${response.status}: ${await response.text()}`);
  }
  return (await response.json()).valid;
}

/**
 * An unsigned Entra-ID-like access token of a user (the emulator decodes but does not verify it):
 * `aud` and `scp` as a token for the requested scope carries them, the user's `tid` and `oid`, the
 * application in `appid`/`azp`, `exp` in seconds, and optionally `groups`.
 */
export function entraUserToken({ aud, scp, tid, oid, appId, exp, groups }) {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: "JWT", alg: "none" };
  const payload = { aud, iss: `https://sts.windows.net/${tid}/`, iat: now - 60, nbf: now - 60, exp, appid: appId, azp: appId, oid, tid, scp, ver: "1.0" };
  if (groups) payload.groups = groups;
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.`;
}

/**
 * A request to the emulator over node:http(s), trusting a --tls emulator's CA certificate (fetch in
 * this process would not); HMAC-signed unless `sign` is false. Resolves to `{ status, body }`.
 */
export async function emulatorRequest(emulator, method, path, { body, sign = true } = {}) {
  const url = new URL(emulator.endpoint + path);
  const data = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), "utf8");
  const headers = { "content-type": "application/json", "content-length": data.length };
  if (sign) {
    const date = new Date().toUTCString();
    const contentHash = createHash("sha256").update(data).digest("base64");
    const toSign = `${method}\n${url.pathname}${url.search}\n${date};${url.host};${contentHash}`;
    const signature = createHmac("sha256", Buffer.from(emulator.accessKey, "base64")).update(toSign, "utf8").digest("base64");
    Object.assign(headers, {
      "x-ms-date": date,
      "x-ms-content-sha256": contentHash,
      authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
    });
  }
  const tls = url.protocol === "https:";
  const options = { method, headers, ...(tls ? { ca: readFileSync(emulator.caCertPath) } : {}) };
  return new Promise((resolve, reject) => {
    const request = (tls ? https : http).request(url, options, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: response.statusCode, body: text ? JSON.parse(text) : null });
      });
    });
    request.once("error", reject);
    request.end(data);
  });
}
