#!/usr/bin/env bash
# Build weight of a minimal app on acs-identity, per feature set: a throwaway crate (a client from
# a connection string, one create_user) with a path dependency on crates/acs-identity and the
# workspace's Cargo.lock (so the same versions), built from clean under its own empty target
# directory. Prints, per feature set, the crates `cargo build` compiled ("Compiling" lines), the
# distinct crates of `cargo tree -e normal`, the lines of `cargo tree -e normal --prefix none |
# sort -u` (which counts a crate shown again with "(*)" twice), the native C library built, and
# the wall-clock time of the clean build. Everything it makes is under one mktemp directory,
# deleted at exit. Run it when no other build of yours is running: the times are wall clock.
#   default   acs-identity (features: rustls, http2, gzip, deflate)
#   native    default-features = false, features = ["native-tls"] (needs OpenSSL headers)
#   leanest   default-features = false (plain http only, or an http_client of the app's;
#             HTTP/1.1, uncompressed answers)
# The workspace's Cargo.lock picks idna_adapter 1.1 (idna's unicode-rs back end instead of ICU4X,
# a choice only an application's lock file makes): the figures are those of an app that made it.
# Usage: scripts/build-weight.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
scratch="$(mktemp -d /tmp/acs-build-weight.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/app/src"
cat > "$scratch/app/src/main.rs" <<'RS'
use acs_identity::CommunicationIdentityClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::var("AZURE_COMMUNICATION_CONNECTION_STRING")?;
    let client = CommunicationIdentityClient::from_connection_string(&text, None)?;
    println!("{}", client.create_user(None).await?.id());
    Ok(())
}
RS
printf '%-8s %9s %9s %11s %7s  %s\n' "features" "compiled" "distinct" "sort-u-lines" "seconds" "C library"
for set in default native leanest; do
  case $set in
    default) features="" ;;
    native) features=', default-features = false, features = ["native-tls"]' ;;
    leanest) features=', default-features = false' ;;
  esac
  cat > "$scratch/app/Cargo.toml" <<TOML
[package]
name = "acs-minimal-app"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
acs-identity = { path = "$root/crates/acs-identity"$features }
tokio = { version = "1.48", features = ["rt-multi-thread", "macros"] }
TOML
  cp "$root/Cargo.lock" "$scratch/app/Cargo.lock"
  rm -rf "$scratch/target"
  cd "$scratch/app"
  tree="$(cargo tree -e normal --prefix none 2>/dev/null)"
  distinct="$(sed 's/ (\*)//' <<<"$tree" | sort -u | wc -l)"
  lines="$(sort -u <<<"$tree" | wc -l)"
  start=$(date +%s.%N)
  CARGO_TARGET_DIR="$scratch/target" cargo build 2> "$scratch/build.log" || { cat "$scratch/build.log"; exit 1; }
  end=$(date +%s.%N)
  compiled=$(grep -c '^ *Compiling' "$scratch/build.log")
  native=$(grep -oE 'Compiling (aws-lc-sys|openssl-sys|ring) ' "$scratch/build.log" | awk '{print $2}' | paste -sd, - || true)
  printf '%-8s %9s %9s %11s %7.1f  %s\n' "$set" "$compiled" "$distinct" "$lines" "$(echo "$end - $start" | bc)" "${native:-none}"
  cd "$root"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
