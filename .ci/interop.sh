#!/usr/bin/env bash
# Interop suites: the official Python and JS SDKs against a freshly started emulator binary, and this
# project's facade (acs-identity) against the in-process emulator's injected faults and throttling.
# Installs what it needs under target/interop/ (idempotent: skipped when the pinned versions are present),
# runs the three suites side by side (each to its end, whatever the others do), and exits non-zero
# on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

step() { printf '\n==> %s\n' "$*"; }
stamp_ok() { [[ -f "$1" ]] && [[ "$(cat "$1")" == "$2" ]]; }

interop="$root/target/interop"
mkdir -p "$interop"

step "interop: build the emulator binary"
# With the workspace's feature resolution and its dev-dependencies (`--workspace --tests`), as
# `cargo test --workspace` builds it: after .ci/run's test step nothing is compiled again (with
# `-p acs-identity-emulator` alone, 36 crates were compiled a second time with other features).
cargo build --locked --workspace --tests --bin acs-identity-emulator
export ACS_EMULATOR_BIN="$root/target/debug/acs-identity-emulator"

step "interop: Python venv (azure-communication-identity from tests/interop/python/requirements.txt)"
venv="$interop/venv"
req="$root/tests/interop/python/requirements.txt"
want="$(sha256sum "$req" | cut -d' ' -f1) $(python3 --version 2>&1)"
if stamp_ok "$venv/.interop-stamp" "$want" && [[ -x "$venv/bin/python" ]]; then
    echo "already installed"
else
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$venv/.interop-stamp"
fi
"$venv/bin/python" -c 'import importlib.metadata as m; v = m.version("azure-communication-identity"); assert v == "1.5.0", v; print("azure-communication-identity", v)'

step "interop: npm packages (@azure/communication-identity, @azure/communication-common from tests/interop/js/package-lock.json)"
node_prefix="$interop/node"
lock="$root/tests/interop/js/package-lock.json"
want="$(cat "$root/tests/interop/js/package.json" "$lock" | sha256sum | cut -d' ' -f1) $(node --version)"
if stamp_ok "$node_prefix/.interop-stamp" "$want" && [[ -d "$node_prefix/node_modules/@azure/communication-identity" ]] \
    && [[ -d "$node_prefix/node_modules/@azure/communication-common" ]]; then
    echo "already installed"
else
    rm -rf "$node_prefix"
    mkdir -p "$node_prefix"
    cp "$root/tests/interop/js/package.json" "$lock" "$node_prefix/"
    npm ci --prefix "$node_prefix" --ignore-scripts --no-audit --no-fund --loglevel=error
    echo "$want" > "$node_prefix/.interop-stamp"
fi
export INTEROP_NODE_PREFIX="$node_prefix"

status=0
py_log="$interop/pytest.log"
js_log="$interop/node-test.log"
rs_log="$interop/facade-faults.log"

# The three suites side by side: they mostly wait (retry back-offs, throttling windows; ~3 s of
# CPU in ~30 s run one after the other), each against an emulator of its own. Each log is printed
# when all are done.
step "interop: the Python SDK suite (pytest), the JS SDK suite (node --test; communication-identity, and communication-common's Entra credential over TLS) and the acs-identity facade against injected faults and throttling (cargo test), side by side"
(cd "$root/tests/interop/python" && PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider) \
    > "$py_log" 2>&1 &
py_job=$!
(cd "$root/tests/interop/js" && node --test --test-reporter=spec identity.test.mjs faults.test.mjs entra_credential.test.mjs) \
    > "$js_log" 2>&1 &
js_job=$!
cargo test --locked --workspace --test facade_faults > "$rs_log" 2>&1 &
rs_job=$!
wait "$py_job" || status=1
wait "$js_job" || status=1
wait "$rs_job" || status=1
for log in "$py_log" "$js_log" "$rs_log"; do
    step "interop: $log"
    cat "$log"
done

# One closing line for the suites (a missing summary counts as a failure).
count() { grep -Eo "$1" "$2" | tail -1 | grep -Eo '[0-9]+' || echo 0; }
py_summary="$(grep -E '^=*\s*[0-9]+ (passed|failed)|^[0-9]+ (passed|failed|error)' "$py_log" | tail -1 || true)"
py_pass="$(echo "$py_summary" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || echo 0)"
py_fail=$(( $(echo "$py_summary" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || echo 0) \
    + $(echo "$py_summary" | grep -Eo '[0-9]+ errors?' | grep -Eo '[0-9]+' || echo 0) ))
js_pass="$(count 'ℹ pass [0-9]+' "$js_log")"
js_fail="$(count 'ℹ fail [0-9]+' "$js_log")"
rs_pass="$(count 'test result: [a-zA-Z]+\. [0-9]+ passed' "$rs_log")"
rs_fail="$(count '[0-9]+ failed' "$rs_log")"
if [[ -z "$py_summary" || "$js_pass" == 0 || "$rs_pass" == 0 ]]; then
    status=1
fi
if [[ $status -ne 0 && $((py_fail + js_fail + rs_fail)) -eq 0 ]]; then
    py_fail=1 # a suite failed without a countable test failure (startup, hook or install error)
fi
echo "interop: python $py_pass passed, $py_fail failed; js $js_pass passed, $js_fail failed; rust facade $rs_pass passed, $rs_fail failed"
echo "interop: $((py_pass + js_pass + rs_pass)) passed, $((py_fail + js_fail + rs_fail)) failed"
exit $status
