#!/usr/bin/env bash
# Make a Debian bookworm base image with Python 3.11 without pulling anything from a container registry:
# debootstrap a minimal root filesystem from the Debian mirror the host already uses, then `docker import` it.
# The training image builds FROM it when no registry is reachable (`sagelocal image build --offline`).
#
# Usage: docker/build-base.sh [--force] [TAG]        (TAG defaults to sagelocal-base:bookworm)
# Env:   SAGELOCAL_DEBIAN_MIRROR  mirror URL (default: the host's bookworm mirror, else deb.debian.org)
#        SAGELOCAL_CACHE          work area (default: ~/.cache/sagelocal); the rootfs is removed after import
set -euo pipefail

force=0
tag="sagelocal-base:bookworm"
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) tag="$arg" ;;
    esac
done

if [[ $force -eq 0 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "Base image $tag already exists (use --force to rebuild)."
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "debootstrap needs root: run this script with sudo." >&2
    exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "Installing debootstrap..."
    apt-get install -y -q debootstrap >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        apt-get install -y -q debootstrap >/dev/null
    }
fi

host_mirror() {
    # The first http(s) Debian mirror in the host's APT sources that serves bookworm's main archive.
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' "$f"
    done
}
mirror="${SAGELOCAL_DEBIAN_MIRROR:-}"
if [[ -z $mirror ]]; then
    mirror=$(host_mirror | grep -E '/debian/?$' | head -n 1 || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

cache="${SAGELOCAL_CACHE:-${HOME:-/root}/.cache/sagelocal}"
rootfs="$cache/rootfs-bookworm.$$"
mkdir -p "$cache"
trap 'rm -rf "$rootfs"' EXIT

echo "debootstrap bookworm from $mirror into $rootfs ..."
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,libgomp1 \
    bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    tail -n 20 "$cache/debootstrap.log" >&2
    echo "debootstrap failed (full log: $cache/debootstrap.log)" >&2
    exit 1
}

# Keep the image small and reproducible: no package caches, no lists, the host's mirror for later apt use.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
echo "deb $mirror bookworm main" >"$rootfs/etc/apt/sources.list"

echo "Importing $rootfs as $tag ..."
tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$tag" >/dev/null
echo "Built base image $tag"
