#!/usr/bin/env bash
# Start time of the emulator binary (release build): for each variant, 20 starts, each timed from
# spawning the process to its first stdout line (the ready line, printed once it listens); prints
# every figure and the median, and the median CPU time the process had used by then (all its
# threads but the key pool refill, from /proc/<pid>/task/*/schedstat: a figure that does not grow
# when other work competes for the CPUs, as wall-clock time does), and the median time of the first
# request right after the ready line (an HMAC-signed create with a token: it includes what a start
# leaves to the first token, such as seeding the RNG the RSA signature uses). Each run is then stopped with SIGTERM and waited for, as a test
# harness would (a graceful stop lets the run refill the signing key pool for the next start).
#   in-memory            --in-memory (signing key from the per-user pool, see the emulator README)
#   in-memory, no cache  --in-memory --no-key-cache (a new RSA key generated at every start)
#   persistent restart   --data-dir on one directory, started once before (key stored there)
# Loopback only (port 0). Usage: scripts/start-time.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
cargo build --release --locked -p acs-identity-emulator --bin acs-identity-emulator
exec python3 - "$PWD/target/release/acs-identity-emulator" "$runs" <<'PY'
import base64, hashlib, hmac, http.client, os, signal, statistics, subprocess, sys, tempfile, time
from email.utils import formatdate

binary, runs = sys.argv[1], int(sys.argv[2])
KEY = base64.b64encode(os.urandom(32)).decode()
READY = b"ACS Identity emulator listening; connection string: "

def first_token_ms(ready_line):
    host = ready_line[len(READY):].split(b"//", 1)[1].split(b"/", 1)[0].decode()
    path, body = "/identities?api-version=2023-10-01", b'{"createTokenWithScopes":["chat"]}'
    date = formatdate(usegmt=True)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    to_sign = f"POST\n{path}\n{date};{host};{digest}".encode()
    signature = base64.b64encode(hmac.new(base64.b64decode(KEY), to_sign, hashlib.sha256).digest()).decode()
    began = time.perf_counter()
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("POST", path, body=body, headers={
        "content-type": "application/json", "x-ms-date": date, "x-ms-content-sha256": digest,
        "authorization": f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"})
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - began) * 1000
    conn.close()
    if response.status != 201:
        sys.exit(f"first request answered {response.status}")
    return elapsed

def cpu_ms(pid):
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                if f.read().strip().startswith("acs-emulator-ke"):
                    continue
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e6

def start_ms(args):
    began = time.perf_counter()
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--access-key", KEY, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - began) * 1000
    cpu = cpu_ms(proc.pid)
    if not line.startswith(READY):
        sys.exit(f"unexpected first line {line!r} from {args}")
    first = first_token_ms(line.strip())
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    return elapsed, cpu, first

def measure(name, args):
    start_ms(args)  # warm-up, not counted (fills the key pool, the page cache)
    results = [start_ms(args) for _ in range(runs)]
    figures = [wall for wall, _, _ in results]
    cpu = statistics.median(c for _, c, _ in results)
    first = statistics.median(f for _, _, f in results)
    print(f"{name:20} median {statistics.median(figures):6.1f} ms  (min {min(figures):5.1f}, "
          f"max {max(figures):5.1f}; CPU used by then, median {cpu:5.1f} ms; "
          f"first request after ready, median {first:5.1f} ms)  "
          f"all: {' '.join(f'{f:.1f}' for f in figures)}")

with tempfile.TemporaryDirectory(prefix="acs-start-time-") as root:
    print(f"{runs} starts each, spawn to ready line, {binary}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    measure("in-memory", ["--in-memory"])
    measure("in-memory, no cache", ["--in-memory", "--no-key-cache"])
    measure("persistent restart", ["--data-dir", os.path.join(root, "data")])
PY
