#!/usr/bin/env bash
# The project's test command (README.md "Test it"). Installs what the tests need on a fresh
# Debian machine, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v protoc >/dev/null 2>&1 || need_pkgs+=(protobuf-compiler)
# etcd-client's build runs protoc on protos importing google/protobuf/*.proto, which Debian ships
# in libprotobuf-dev (only recommended by protobuf-compiler, so --no-install-recommends skips it).
[ -f /usr/include/google/protobuf/descriptor.proto ] || need_pkgs+=(libprotobuf-dev)
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || need_pkgs+=(etcd-server)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
  # Debian starts etcd as a service on install; tests run their own.
  $SUDO systemctl stop etcd >/dev/null 2>&1 || $SUDO service etcd stop >/dev/null 2>&1 || pkill -x etcd || true
fi

# Tests read ../shared (the specs and golden files) when it is there.
export MULTIGRES_SHARED_DIR="${MULTIGRES_SHARED_DIR:-$(cd .. && pwd)/shared}"

cargo fmt --all -- --check
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast
fi
