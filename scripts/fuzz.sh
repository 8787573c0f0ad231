#!/usr/bin/env bash
# Fuzzes the targets of fuzz/ with libFuzzer on the stable toolchain: coverage instrumentation
# through stable codegen flags (sancov), no sanitizer (AddressSanitizer needs nightly flags).
#
#   scripts/fuzz.sh                          every target, 60 s each
#   scripts/fuzz.sh --seconds 600 raw_id     one target, 10 minutes
#   scripts/fuzz.sh --replay                 replay the corpora only, no engine (what `cargo test` does)
#   scripts/fuzz.sh --asan --seconds 600     with AddressSanitizer: nightly flags on the stable
#                                            toolchain through RUSTC_BOOTSTRAP=1 (own build dir)
#
# New inputs go to target/fuzz/corpus/<target>/ (merge good ones into fuzz/corpus/ by hand), and
# a crash or failed property to target/fuzz/artifacts/<target>/ (replay one with
# `cargo run -p acs-identity-fuzz --bin <target> -- <file>`).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
replay_only=false
asan=false
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --replay) replay_only=true; shift ;;
        --asan) asan=true; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    targets=(connection_string raw_id error_body jwt_claims hmac_verify emulator_request)
fi

if $replay_only; then
    for t in "${targets[@]}"; do
        cargo run --locked -q -p acs-identity-fuzz --bin "$t"
    done
    exit 0
fi

if $asan; then
    # AddressSanitizer must see every crate: nightly flags for the whole graph (RUSTC_BOOTSTRAP=1 on
    # the stable toolchain), in a build directory of its own.
    host=$(rustc -vV | sed -n 's/^host: //p')
    export RUSTC_BOOTSTRAP=1 RUSTC_WORKSPACE_WRAPPER="$PWD/scripts/sancov-rustc.sh"
    export RUSTFLAGS="-Zsanitizer=address"
    cargo build --locked --release -p acs-identity-fuzz --features libfuzzer --bins \
        --target "$host" --target-dir target/fuzz/build-asan
    bin="target/fuzz/build-asan/$host/release"
else
    # The workspace's crates instrumented for coverage, the dependencies shared with every other
    # release build (see scripts/sancov-rustc.sh).
    export RUSTC_WORKSPACE_WRAPPER="$PWD/scripts/sancov-rustc.sh"
    cargo build --locked --release -p acs-identity-fuzz --features libfuzzer --bins
    bin="target/release"
fi

status=0
for t in "${targets[@]}"; do
    mkdir -p "target/fuzz/corpus/$t" "target/fuzz/artifacts/$t"
    echo "==> fuzzing $t for ${seconds} s"
    # The first directory receives new inputs; the checked-in corpus is only read.
    if ! "$bin/$t" \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="target/fuzz/artifacts/$t/" \
        "target/fuzz/corpus/$t" "fuzz/corpus/$t" 2> "target/fuzz/$t.log"; then
        status=1
        echo "$t FAILED: see target/fuzz/$t.log and target/fuzz/artifacts/$t/"
    fi
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" \
        "target/fuzz/$t.log" | tr '\n' ' '
    echo
done
exit $status
