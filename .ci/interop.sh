#!/usr/bin/env bash
# Interop suites: the official Python and JS SDKs against a freshly started emulator binary.
# Installs what it needs under target/interop/ (idempotent: skipped when the pinned versions are present),
# runs both suites (each even when the other failed), and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

step() { printf '\n==> %s\n' "$*"; }
stamp_ok() { [[ -f "$1" ]] && [[ "$(cat "$1")" == "$2" ]]; }

interop="$root/target/interop"
mkdir -p "$interop"

step "interop: build the emulator binary"
cargo build --locked -p acs-identity-emulator --bin acs-identity-emulator
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

step "interop: npm packages (@azure/communication-identity from tests/interop/js/package-lock.json)"
node_prefix="$interop/node"
lock="$root/tests/interop/js/package-lock.json"
want="$(cat "$root/tests/interop/js/package.json" "$lock" | sha256sum | cut -d' ' -f1) $(node --version)"
if stamp_ok "$node_prefix/.interop-stamp" "$want" && [[ -d "$node_prefix/node_modules/@azure/communication-identity" ]]; then
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
step "interop: Python SDK suite (pytest)"
(cd "$root/tests/interop/python" && PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider) || status=1

step "interop: JS SDK suite (node --test)"
(cd "$root/tests/interop/js" && node --test --test-reporter=spec identity.test.mjs) || status=1

if [[ $status -ne 0 ]]; then
    echo "interop: FAILED" >&2
fi
exit $status
