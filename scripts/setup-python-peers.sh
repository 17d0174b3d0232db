#!/usr/bin/env bash
# Installs the Python peers some tests check mixrl's files against: NumPy reads and writes .npy/.npz,
# PyTorch rebuilds an exported policy (test/rl/interop-python.test.ts, test/cli/export.test.ts).
# Debian's packages, run with /usr/bin/python3. Run as root. Idempotent: does nothing when both import.
set -euo pipefail

if /usr/bin/python3 -c 'import numpy, torch' >/dev/null 2>&1; then
  echo "setup-python-peers: numpy and torch already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-python-peers: must run as root (installs Debian packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3-numpy python3-torch >/dev/null
echo "setup-python-peers: installed python3-numpy $(dpkg-query -W -f='${Version}' python3-numpy), python3-torch $(dpkg-query -W -f='${Version}' python3-torch)"
