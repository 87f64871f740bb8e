#!/usr/bin/env bash
# Installs the Debian packages given as arguments (scripts/test.sh and scripts/local.sh decide
# which are missing). Debian would start etcd as a system service on install, and the tests and
# local mode run their own: a policy-rc.d that refuses every start (exit 101, Debian's convention)
# keeps any service from starting, so there is nothing to stop afterwards. It is removed again if
# this script put it there.
set -euo pipefail
[ $# -gt 0 ] || exit 0
echo "installing $*"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
