#!/usr/bin/env bash
# Installs the system packages newsriver builds with, when they are missing: a C
# toolchain, make, cmake and the curl/zlib headers (librdkafka is built from source);
# with --test also chromium, which the status page's browser test drives, and wget, whose
# --warc-file writes the WARC the backfill --warc test reads, and a Python venv with warcio
# (from PyPI; ~/.cache/newsriver/test-venv, or $NEWSRIVER_TEST_VENV) that the WARC tests
# compare newsriver's reader with.
# Used by `make` and by CI; safe to run again (it installs nothing that is present).
set -euo pipefail

missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v c++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v cmake >/dev/null || missing+=(cmake)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v kill >/dev/null || missing+=(procps)
[ -e /usr/include/curl/curl.h ] || [ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || missing+=(libcurl4-openssl-dev)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
# `--test`: what the tests drive besides the build (the status page's browser test).
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
  [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
  command -v wget >/dev/null || missing+=(wget)
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
fi

# The test venv, once the system packages are there.
test_venv() {
  [ "${1:-}" = "--test" ] || return 0
  local venv="${NEWSRIVER_TEST_VENV:-${HOME}/.cache/newsriver/test-venv}"
  if ! "${venv}/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("warcio") != "1.8.1")' 2>/dev/null; then
    echo "installing warcio==1.8.1 into ${venv}" >&2
    python3 -m venv "${venv}" >&2
    "${venv}/bin/pip" install -q warcio==1.8.1 >&2
  fi
}

if ! ((${#missing[@]})); then
  test_venv "${1:-}"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "newsriver needs: ${missing[*]} (install them with your package manager)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo=sudo; else
    echo "newsriver needs: ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
test_venv "${1:-}"
