#!/usr/bin/env bash
# Load test of the emulator: 16 concurrent clients, 100,000 mixed requests (creates, token issues,
# revokes, deletes) against a fresh release build of the emulator binary, in memory and on disk, then a
# pure issue-token phase; prints throughput, the emulator's peak memory (VmHWM) and, in the same run,
# the RS256 signing rate of ring (the emulator's signing library and key) on two threads with the
# ratio (goal >= 0.7).
# Loopback only; bounded by the request counts. Extra arguments go to the driver, e.g.
#   scripts/load.sh --mode memory --requests 20000
set -euo pipefail
cd "$(dirname "$0")/.."
# One build for both, with the workspace's feature resolution (that of `cargo bench --workspace`
# too), so the dependencies are compiled once for the benches and this script.
cargo build --release --locked --workspace --bin acs-identity-emulator --example load
export ACS_EMULATOR_BIN="$PWD/target/release/acs-identity-emulator"
exec "$PWD/target/release/examples/load" "$@"
