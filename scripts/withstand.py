#!/usr/bin/env python3
"""What the emulator withstands: slow, idle and many connections. Prints figures.

Starts the release emulator binary (in memory, under an open-file limit of 1024, as in the attack
that found it unavailable) and, one scenario after another:
  1. holds 2,000 connections, each with its headers and 1 KB of a 60 KB body sent, then nothing;
  2. holds 1,000 idle connections (nothing sent);
  3. drips a request's headers at a byte a second;
  4. holds 600 connections dripping header bytes (slowloris) while 32 requests are sent;
reporting how many connections it kept, its memory (VmRSS) while they are held and after they are
cut, how long until it cut them, and whether /emulator/health answers afterwards.

    scripts/withstand.sh            (builds the release binary, then runs this; about 3 minutes)
"""
import argparse
import os
import resource
import select
import socket
import subprocess
import sys
import tempfile
import time


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def health(port, timeout=5.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            s.settimeout(timeout)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if not data:
                return "no answer (closed at once)"
            return data.split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as e:
        return f"no answer ({e.__class__.__name__})"


def open_many(port, count, payload):
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(True)
        try:
            s.connect(("127.0.0.1", port))
            if payload:
                s.sendall(payload)
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def readable(socks, timeout):
    """The sockets of `socks` with something to read (data, EOF or an error) within `timeout` s."""
    poller = select.poll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return [by_fd[fd] for fd, _ in poller.poll(timeout * 1000)]


def open_count(socks, wait=1.0):
    """How many of `socks` the server still holds open, with nothing sent back, after `wait` s."""
    time.sleep(wait)
    return len(socks) - len(readable(socks, 0))


def until_all_closed(socks, limit):
    """Seconds until the server closed every socket of `socks` (or `limit`), and how many remain."""
    start = time.monotonic()
    pending = list(socks)
    while pending and time.monotonic() - start < limit:
        for s in readable(pending, 1.0):
            try:
                s.setblocking(False)
                while s.recv(65536):
                    pass
            except BlockingIOError:
                continue
            except OSError:
                pass
            pending.remove(s)
    return time.monotonic() - start, len(pending)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

    port_file = os.path.join(tempfile.mkdtemp(), "port")
    log = tempfile.NamedTemporaryFile(prefix="emulator-", suffix=".log", delete=False)
    emulator = subprocess.Popen(
        [args.bin, "--in-memory", "--listen", "127.0.0.1:0", "--port-file", port_file],
        stdout=subprocess.DEVNULL, stderr=log,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)),
    )
    try:
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        port = int(open(port_file).read())
        pid = emulator.pid
        print(f"emulator pid {pid}, open-file limit 1024")
        print(f"  idle: VmRSS {rss_mb(pid):.1f} MB; health: {health(port)}")

        body_start = (b"POST /emulator/tokens:validate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n" + b"x" * 1024)
        socks = open_many(port, 2000, body_start)
        held = open_count(socks)
        print(f"1. 2,000 connections with a partial body: {len(socks)} connected, {held} held by the "
              f"emulator, VmRSS {rss_mb(pid):.1f} MB")
        took, left = until_all_closed(socks, 120)
        for s in socks:
            s.close()
        time.sleep(1)
        print(f"   all cut after {took:.0f} s ({left} left); VmRSS {rss_mb(pid):.1f} MB; "
              f"health: {health(port)}")

        socks = open_many(port, 1000, b"")
        held = open_count(socks)
        print(f"2. 1,000 idle connections: {held} held, VmRSS {rss_mb(pid):.1f} MB, "
              f"health meanwhile: {health(port, timeout=2)}")
        took, left = until_all_closed(socks, 120)
        for s in socks:
            s.close()
        time.sleep(1)
        print(f"   closed after {took:.0f} s ({left} left); health: {health(port)}")

        s = socket.create_connection(("127.0.0.1", port))
        request = b"GET /emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
        start = time.monotonic()
        cut = None
        for b in request:
            try:
                s.sendall(bytes([b]))
            except OSError:
                cut = time.monotonic() - start
                break
            if readable([s], 1.0):
                try:
                    if not s.recv(4096):
                        cut = time.monotonic() - start
                        break
                except OSError:
                    cut = time.monotonic() - start
                    break
        s.close()
        print(f"3. headers at 1 byte/s: cut after {cut:.0f} s" if cut else "3. headers at 1 byte/s: NOT cut")

        slow = open_many(port, 600, b"GET /emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        served = 0
        for _ in range(32):
            for t in slow:
                try:
                    t.sendall(b"a")
                except OSError:
                    pass
            served += health(port, timeout=2).endswith("200 OK")
        for t in slow:
            t.close()
        print(f"4. 600 slowloris connections ({len(slow)} connected): {served} of 32 requests served")
    finally:
        emulator.terminate()
        emulator.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
