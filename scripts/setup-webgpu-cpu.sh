#!/usr/bin/env bash
# Installs a software Vulkan driver (Mesa lavapipe, from bookworm-backports) so that Dawn's WebGPU
# adapter exists on a machine without a GPU. bookworm's own Mesa (22.x) is too old for Dawn.
# Run as root. Idempotent: does nothing when a lavapipe ICD is already installed.
set -euo pipefail

if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && [ "${MIXRL_FORCE_SETUP:-0}" != 1 ]; then
  echo "setup-webgpu-cpu: lavapipe already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-webgpu-cpu: must run as root (installs Debian packages)" >&2
  exit 1
fi

# Reuse the mirror apt is already configured with, adding the backports suite.
mirror=$( (grep -rhsoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ || true) \
  | grep -oE 'https?://[^ ]+' | grep -v security | head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
list=/etc/apt/sources.list.d/mixrl-bookworm-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb ${mirror%/} bookworm-backports main" >"$list"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "setup-webgpu-cpu: installed $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) mesa-vulkan-drivers"
