#!/usr/bin/env bash
# Installs what is missing (Debian packages, npm dependencies). Fast when
# nothing is missing: it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(cmake g++ make pkg-config emscripten nlohmann-json3-dev
  libgtest-dev libsqlite3-dev postgresql-15 pgbouncer chromium
  clang-14 libclang-rt-14-dev  # libFuzzer + sanitizers (fuzz/)
  clang-format clang-tidy)     # the C++ style gate (scripts/check-cpp.sh)
# Only the packages a job needs: `setup.sh start` skips the test-only ones.
if [[ "${1:-test}" == "start" ]]; then
  APT_PACKAGES=(cmake g++ make emscripten nlohmann-json3-dev)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "edgesync: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "edgesync: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm dependencies: reinstall when package-lock.json changed since the last install.
stamp=node_modules/.edgesync-lock-stamp
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  echo "edgesync: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
