#!/usr/bin/env bash
# RUSTC_WORKSPACE_WRAPPER of scripts/fuzz.sh: compiles the workspace's crates with libFuzzer's
# coverage instrumentation (sancov, stable codegen flags). Cargo runs a workspace wrapper for
# workspace members only, so the dependencies are the plain release builds the benchmarks and the
# load script use (see scripts/fuzz.sh, which also gives the members debug assertions and overflow
# checks). Build scripts are compiled plainly (they run on the host without libFuzzer's runtime).
rustc="$1"
shift
case " $* " in
    *" --crate-name build_script_"*) exec "$rustc" "$@" ;;
esac
exec "$rustc" "$@" -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares
