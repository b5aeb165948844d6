#!/usr/bin/env bash
# Installs the Debian packages Cairn builds against, and only those that are missing, so that
# `make run` and `make test` work on a brand-new Debian 12 machine and cost nothing the second time.
# Nothing is ever downloaded except through apt.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-context-dev
  libprotobuf-dev protobuf-compiler
  libsqlite3-dev
  librapidcheck-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libcli11-dev
  libssl-dev
  libhttp-parser-dev
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

echo "install-deps: installing missing Debian packages: ${missing[*]}"
if ((EUID == 0)); then
  apt_get=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt_get=(sudo apt-get)
else
  echo "install-deps: these packages are missing and this user cannot install them (not root, no sudo):" >&2
  echo "  apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}"
