#!/usr/bin/env bash
# What the emulator withstands (slow, idle and too many connections), with figures: builds the
# release binary, then runs scripts/withstand.py against it (about 3 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p acs-identity-emulator --bin acs-identity-emulator
exec python3 scripts/withstand.py --bin "$PWD/target/release/acs-identity-emulator" "$@"
