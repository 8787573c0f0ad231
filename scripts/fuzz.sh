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
# `cargo run -p acs-identity-fuzz --example <target> -- <file>`).
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
        cargo run --locked -q -p acs-identity-fuzz --example "$t"
    done
    exit 0
fi

# The fuzz targets are examples built with `--workspace`: the feature resolution of `cargo bench
# --workspace` and of scripts/load.sh (an example counts the dev-dependencies as a bench does), so
# the dependencies are the plain release builds those use, compiled once. The workspace's
# own crates get the coverage flags (scripts/sancov-rustc.sh, cargo's RUSTC_WORKSPACE_WRAPPER, which
# it runs for workspace members only) and, here, debug assertions and overflow checks in their
# release profile; that profile difference also gives the instrumented builds file names of their
# own, so they never replace the benchmarks' plain builds of the same crates (cargo does not tell
# builds apart by their wrapper).
members=$(cargo metadata --locked --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(*(p["name"] for p in json.load(sys.stdin)["packages"]))')
build=(cargo build --locked --release --workspace --features acs-identity-fuzz/libfuzzer)
for m in $members; do
    build+=(--config "profile.release.package.$m.debug-assertions=true"
        --config "profile.release.package.$m.overflow-checks=true")
done
for t in "${targets[@]}"; do
    build+=(--example "$t")
done
export RUSTC_WORKSPACE_WRAPPER="$PWD/scripts/sancov-rustc.sh"
if $asan; then
    # AddressSanitizer must see every crate: nightly flags for the whole graph (RUSTC_BOOTSTRAP=1 on
    # the stable toolchain), in a build directory of its own.
    host=$(rustc -vV | sed -n 's/^host: //p')
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" \
        "${build[@]}" --target "$host" --target-dir target/fuzz/build-asan
    bin="target/fuzz/build-asan/$host/release/examples"
else
    "${build[@]}"
    bin="${CARGO_TARGET_DIR:-target}/release/examples"
fi

# One target per core at a time: each gets its whole time on a core of its own.
fuzz_one() {
    local t="$1" result=ok
    mkdir -p "target/fuzz/corpus/$t" "target/fuzz/artifacts/$t"
    # The first directory receives new inputs; the checked-in corpus is only read.
    "$bin/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="target/fuzz/artifacts/$t/" \
        "target/fuzz/corpus/$t" "fuzz/corpus/$t" 2> "target/fuzz/$t.log" || result=FAILED
    echo "==> $t (${seconds} s): $result $(grep -E \
        "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" \
        "target/fuzz/$t.log" | tr '\n' ' ')"
    if [ "$result" != ok ]; then
        echo "$t FAILED: see target/fuzz/$t.log and target/fuzz/artifacts/$t/"
        return 1
    fi
}
status=0
running=()
for t in "${targets[@]}"; do
    fuzz_one "$t" &
    running+=($!)
    if [ ${#running[@]} -ge "$(nproc)" ]; then
        wait "${running[0]}" || status=1
        running=("${running[@]:1}")
    fi
done
for pid in "${running[@]}"; do
    wait "$pid" || status=1
done
exit $status
