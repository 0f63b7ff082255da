#!/usr/bin/env bash
# Installs the Debian packages dtx needs to build, test, run the demo and
# benchmark, when any is missing. Idempotent and quiet when all are there.
set -euo pipefail
pkgs=(build-essential pkg-config libpq-dev libzmq3-dev libjson-c-dev
      libmicrohttpd-dev libcunit1-dev libcurl4-openssl-dev postgresql
      postgresql-contrib postgresql-client procps python3 clang)
# `deps.sh bench` adds what only the benchmarks need (nginx and wrk, for
# the gateway's comparison); make test never installs them.
if [ "${1:-}" = bench ]; then
    pkgs+=(nginx-light wrk)
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
