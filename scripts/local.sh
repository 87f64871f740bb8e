#!/usr/bin/env bash
# The README's first command: a whole Multigres topology on this machine (docs/local.md).
# Installs what local mode and the build need on a fresh Debian machine (etcd for the topology
# server, protoc for the build, kubectl to talk to it), then builds and runs
# `multigres-operator local` with the arguments given (e.g. `-f my-cluster.yaml`).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v protoc >/dev/null 2>&1 || need_pkgs+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || need_pkgs+=(libprotobuf-dev)
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || need_pkgs+=(etcd-server)
command -v kubectl >/dev/null 2>&1 || need_pkgs+=(kubernetes-client)
scripts/apt-install.sh ${need_pkgs[@]+"${need_pkgs[@]}"}
# local mode runs /usr/bin/etcd unless told otherwise: an etcd found only on the PATH (say
# /usr/local/bin/etcd) is passed on, so the check above and local mode agree.
if [ ! -x /usr/bin/etcd ] && [ -z "${MULTIGRES_LOCAL_ETCD_BINARY:-}" ] && command -v etcd >/dev/null 2>&1; then
  MULTIGRES_LOCAL_ETCD_BINARY="$(command -v etcd)"
  export MULTIGRES_LOCAL_ETCD_BINARY
fi

exec cargo run --release -q -p multigres-operator --bin multigres-operator -- local "$@"
