#!/usr/bin/env bash
# Installs the Debian packages dtx needs, when any is missing. Idempotent and
# quiet when all are there.
#
#   scripts/deps.sh           every package in scripts/deps.d/base*.list
#   scripts/deps.sh GROUP...  those, plus scripts/deps.d/GROUP*.list for each
#                             GROUP (bench: nginx and wrk for make bench)
#
# One list a concern: a part that needs a package adds a file of its own
# (base-NAME.list when make test needs it, GROUP.list for its own target),
# so two changes never edit the same line. One package or more a line; #
# starts a comment.
set -euo pipefail
dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/deps.d
lists=("$dir"/base*.list)
for group in "$@"; do
    case $group in
    *[!a-z0-9_-]* | '') echo "deps: bad group name '$group'" >&2; exit 2 ;;
    esac
    set -- "$dir/$group"*.list
    [ -e "$1" ] || { echo "deps: no list for group '$group' in $dir" >&2; exit 2; }
    lists+=("$@")
done
pkgs=()
for f in "${lists[@]}"; do
    [ -e "$f" ] || continue
    # shellcheck disable=SC2207
    pkgs+=($(sed -e 's/#.*//' "$f"))
done
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
