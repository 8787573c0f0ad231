#!/usr/bin/env bash
# Start time of the emulator binary (release build): for each variant, 20 starts, each timed from
# spawning the process to its first stdout line (the ready line, printed once it listens) and to
# its first issued token (an HMAC-signed create with a token, sent as soon as the ready line is
# read: what a test suite waits for); prints every figure and the medians, and the median CPU time
# the process had used by the first token (from /proc/<pid>/task/*/schedstat: a figure that does not
# grow when other work competes for the CPUs, as wall-clock time does). Each run is then stopped
# with SIGTERM and waited for, as a test harness would.
#   in-memory            --in-memory (the well-known development keys, see the emulator README)
#   persistent restart   --data-dir on one directory, started once before (keys stored there)
# Loopback only (port 0). Usage: scripts/start-time.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
cargo build --release --locked -p acs-identity-emulator --bin acs-identity-emulator
exec python3 - "$PWD/target/release/acs-identity-emulator" "$runs" <<'PY'
import base64, hashlib, hmac, http.client, os, signal, statistics, subprocess, sys, tempfile, time
from email.utils import formatdate

binary, runs = sys.argv[1], int(sys.argv[2])
READY = b"ACS Identity emulator listening; connection string: "

def first_token_at(ready_line):
    """Sends the first request; the perf_counter() time its answer (201, a token) was read."""
    fields = dict(p.split("=", 1) for p in ready_line[len(READY):].decode().split(";") if p)
    host, key = fields["endpoint"].split("//", 1)[1].split("/", 1)[0], fields["accesskey"]
    path, body = "/identities?api-version=2023-10-01", b'{"createTokenWithScopes":["chat"]}'
    date = formatdate(usegmt=True)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    to_sign = f"POST\n{path}\n{date};{host};{digest}".encode()
    signature = base64.b64encode(hmac.new(base64.b64decode(key), to_sign, hashlib.sha256).digest()).decode()
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("POST", path, body=body, headers={
        "content-type": "application/json", "x-ms-date": date, "x-ms-content-sha256": digest,
        "authorization": f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"})
    response = conn.getresponse()
    response.read()
    done = time.perf_counter()
    conn.close()
    if response.status != 201:
        sys.exit(f"first request answered {response.status}")
    return done

def cpu_ms(pid):
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e6

def start_ms(args):
    began = time.perf_counter()
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - began) * 1000
    if not line.startswith(READY):
        sys.exit(f"unexpected first line {line!r} from {args}")
    first = (first_token_at(line.strip()) - began) * 1000
    cpu = cpu_ms(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    return elapsed, cpu, first

def measure(name, args):
    start_ms(args)  # warm-up, not counted (the page cache)
    results = [start_ms(args) for _ in range(runs)]
    ready = [wall for wall, _, _ in results]
    token = [t for _, _, t in results]
    cpu = statistics.median(c for _, c, _ in results)
    print(f"{name:20} spawn to first token: median {statistics.median(token):6.1f} ms "
          f"(min {min(token):5.1f}, max {max(token):5.1f}); to the ready line: median "
          f"{statistics.median(ready):5.1f} ms; CPU by the first token, median {cpu:5.1f} ms\n"
          f"{'':20} first token, all: {' '.join(f'{f:.1f}' for f in token)}")

with tempfile.TemporaryDirectory(prefix="acs-start-time-") as root:
    print(f"{runs} starts each, {binary}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    measure("in-memory", ["--in-memory"])
    measure("persistent restart", ["--data-dir", os.path.join(root, "data")])
PY
