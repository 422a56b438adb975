#!/usr/bin/env bash
# Installs what WebGPU needs on a GPU-less Debian 12 machine (run as root):
# - Mesa's Vulkan drivers (lavapipe) from bookworm-backports: Debian 12's own Mesa 22.3 is rejected
#   by Dawn ("shaderUniform*ArrayDynamicIndexing required"), Mesa 25 works;
# - the Vulkan loader;
# - Debian's Chromium (for the headless-browser tests; its SwiftShader adapter).
# The backports entry is derived from the machine's existing Debian source, so no mirror is hard-coded.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! apt-cache policy 2>/dev/null | grep -q 'bookworm-backports'; then
  src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' "$src")
    key=$(awk '/^Signed-By:/ {print $2; exit}' "$src")
  else
    uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
    key=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  if [ -z "${uri:-}" ]; then
    echo "setup: cannot find the Debian bookworm source to derive bookworm-backports from" >&2
    exit 1
  fi
  cat > /etc/apt/sources.list.d/webntk-backports.sources <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: ${key:-/usr/share/keyrings/debian-archive-keyring.gpg}
SRC
fi

apt-get update
apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers
apt-get install -y --no-install-recommends libvulkan1 chromium
