"""Starts a fresh `acs-identity-emulator` process for the interop suite and offers small helpers.

The binary comes from `ACS_EMULATOR_BIN` (set by `.ci/interop.sh`), else `target/debug/acs-identity-emulator`.
Everything stays on 127.0.0.1 with a port the emulator picks itself (`--listen 127.0.0.1:0`).
"""

import base64
import glob
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from email.utils import formatdate
from urllib.parse import urlsplit

import pytest
import requests

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
READY_PATTERN = re.compile(r"connection string:\s*(\S+)")
START_TIMEOUT_S = 30
SERVER_ERROR = re.compile(r"status=5\d\d|panicked")


def emulator_binary():
    path = os.environ.get("ACS_EMULATOR_BIN") or os.path.join(
        REPO_ROOT, "target", "debug", "acs-identity-emulator"
    )
    if not os.path.isfile(path):
        pytest.exit(f"emulator binary not found at {path}; build it with `cargo build -p acs-identity-emulator`", 2)
    return path


def parse_connection_string(text):
    parts = {}
    for element in text.strip().split(";"):
        if not element:
            continue
        name, _, value = element.partition("=")
        parts[name.strip().lower()] = value.strip()
    return parts["endpoint"], parts["accesskey"]


class RunningEmulator:
    """A started emulator process: endpoint (no trailing slash), key, resource id, connection string."""

    def __init__(self, args, data_dir, log_path):
        self.data_dir = data_dir
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL
        )
        self.stdout_lines = []
        first_line = threading.Event()

        def pump():
            for raw in self.proc.stdout:
                self.stdout_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                first_line.set()
            first_line.set()

        threading.Thread(target=pump, daemon=True).start()
        if not first_line.wait(START_TIMEOUT_S) or not self.stdout_lines:
            self.stop()
            raise RuntimeError(f"emulator printed nothing within {START_TIMEOUT_S}s; log: {self.log_text()}")
        match = READY_PATTERN.search(self.stdout_lines[0])
        if not match:
            self.stop()
            raise RuntimeError(f"unexpected first line from emulator: {self.stdout_lines[0]!r}")
        self.connection_string = match.group(1)
        endpoint, self.access_key = parse_connection_string(self.connection_string)
        self.endpoint = endpoint.rstrip("/")

    def log_text(self, full=False):
        try:
            with open(self.log_path, "rb") as handle:
                data = handle.read()
                return (data if full else data[-4000:]).decode("utf-8", "replace")
        except OSError:
            return "<no log>"

    def certificate_path(self):
        """The self-signed certificate a `--tls` emulator stored in its data directory."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ca_cert = os.path.join(self.data_dir, "tls-ca-cert.pem")
            if os.path.isfile(ca_cert):
                return ca_cert
            for line in self.stdout_lines:
                for token in line.split():
                    token = token.strip("'\",;()")
                    if token.endswith((".pem", ".crt", ".cer")) and os.path.isfile(token):
                        return token
            candidates = [
                path
                for pattern in ("*.pem", "*.crt", "*.cer", "**/*.pem", "**/*.crt")
                for path in glob.glob(os.path.join(self.data_dir, pattern), recursive=True)
                if "key" not in os.path.basename(path).lower()
            ]
            if candidates:
                return sorted(candidates)[0]
            time.sleep(0.05)
        raise RuntimeError(f"no certificate found for the --tls emulator in {self.data_dir}")

    def server_errors(self):
        """Lines of the request log that show a 5xx answer or a panic (there must be none)."""
        return [line for line in self.log_text(full=True).splitlines() if SERVER_ERROR.search(line)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def start_emulator(tmp_root, *, tls=False, in_memory=True, extra_args=()):
    resource_id = str(uuid.uuid4())
    access_key = base64.b64encode(os.urandom(32)).decode("ascii")
    data_dir = tempfile.mkdtemp(prefix="emulator-data-", dir=tmp_root)
    args = [
        emulator_binary(),
        "--listen",
        "127.0.0.1:0",
        "--access-key",
        access_key,
        "--resource-id",
        resource_id,
    ]
    if in_memory and not tls:
        args.append("--in-memory")
    else:
        args += ["--data-dir", data_dir]
    if tls:
        args.append("--tls")
    args += list(extra_args)
    emulator = RunningEmulator(args, data_dir, os.path.join(tmp_root, f"emulator-{resource_id}.log"))
    emulator.resource_id = resource_id
    assert emulator.access_key == access_key, "the printed connection string must carry the key we passed"
    return emulator


@pytest.fixture(scope="session")
def tmp_root():
    with tempfile.TemporaryDirectory(prefix="acs-interop-py-") as root:
        yield root


def stop_and_check(running):
    running.stop()
    errors = running.server_errors()
    assert not errors, f"the emulator answered 5xx or panicked: {errors[:5]}"


@pytest.fixture(scope="session")
def emulator(tmp_root):
    running = start_emulator(tmp_root)
    yield running
    stop_and_check(running)


@pytest.fixture(scope="session")
def tls_emulator(tmp_root):
    running = start_emulator(tmp_root, tls=True)
    yield running
    stop_and_check(running)


# ---------------------------------------------------------------------------------------------------------
# Helpers shared by the tests


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value):
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def decode_jwt_payload(token):
    parts = token.split(".")
    assert len(parts) == 3, "an access token is a three-part JWT"
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def decode_jwt_header(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def entra_test_token(app_id, user_object_id, expires_at):
    """An Entra-like access token of a Teams user, unsigned (the emulator decodes but does not verify it)."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "kid": "interop-test"}
    payload = {
        "aud": "https://auth.msft.communication.azure.com",
        "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": int(expires_at),
        "appid": app_id,
        "azp": app_id,
        "oid": user_object_id,
        "tid": "00000000-0000-0000-0000-000000000001",
        "scp": "Teams.ManageCalls Teams.ManageChats",
        "ver": "1.0",
    }
    return f"{b64url_json(header)}.{b64url_json(payload)}.{b64url(os.urandom(64))}"


def signed_post(emulator, path, body, verify=True):
    """POST with the service's HMAC-SHA256 scheme (used for the emulator-only endpoints)."""
    url = emulator.endpoint + path
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    data = json.dumps(body).encode("utf-8")
    date = formatdate(usegmt=True)
    content_hash = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    to_sign = f"POST\n{target}\n{date};{parts.netloc};{content_hash}"
    signature = base64.b64encode(
        hmac.new(base64.b64decode(emulator.access_key), to_sign.encode("utf-8"), hashlib.sha256).digest()
    ).decode("ascii")
    headers = {
        "content-type": "application/json",
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "authorization": f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}",
    }
    return requests.post(url, data=data, headers=headers, timeout=10, verify=verify)


def emulator_control(emulator, method, path, body=None):
    """A call to an emulator-only control endpoint (`/emulator/controls`, `/emulator/reset`, ...): no signing."""
    # Always JSON: the emulator refuses a control POST or PUT that does not say so (a web page's form).
    response = requests.request(
        method, emulator.endpoint + path, json=body, headers={"content-type": "application/json"}, timeout=10
    )
    assert response.status_code < 300, f"{method} {path} answered {response.status_code}: {response.text}"
    return response.json() if response.content else None


def token_is_valid(emulator, token):
    response = signed_post(emulator, "/emulator/tokens:validate", {"token": token})
    assert response.status_code == 200, f"validate endpoint answered {response.status_code}: {response.text}"
    return response.json()["valid"]
