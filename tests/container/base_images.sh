#!/usr/bin/env bash
# The two Debian bookworm base images the image test builds on, made without Docker Hub:
#   localhost/dltp-python:bookworm   debootstrap minbase + Python 3.11 (the runtime stage's base)
#   localhost/dltp-base:bookworm     the same + pip and CA certificates (the build stage's base)
#   localhost/dltp-prometheus:bookworm  the same runtime base + Debian's prometheus (the pod's Prometheus)
# Each is made once and kept by podman. Needs root, podman, runc and debootstrap.
set -euo pipefail
WORK=${WORK:-$(mktemp -d /tmp/dltp-base-XXXXXX)}
mkdir -p "$WORK"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$WORK/containers.conf}
[ -f "$CONTAINERS_CONF" ] || printf '[containers]\ndefault_ulimits = []\n' > "$CONTAINERS_CONF"
podman() { command podman --runtime runc "$@"; }
RUNTIME=localhost/dltp-python:bookworm
BUILD=localhost/dltp-base:bookworm
PROMETHEUS=localhost/dltp-prometheus:bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if ! podman image exists "$RUNTIME"; then
  echo "== $RUNTIME: debootstrap bookworm (minbase) + python3"
  debootstrap --variant=minbase --include=python3 bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log"
  # Nothing the service reads: package caches and lists, documentation, manuals, translations.
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"* \
    "$WORK/rootfs/usr/share/doc/"* "$WORK/rootfs/usr/share/man/"* "$WORK/rootfs/usr/share/info/"* \
    "$WORK/rootfs/usr/share/locale/"*
  printf 'deb %s bookworm main\n' "$MIRROR" > "$WORK/rootfs/etc/apt/sources.list"
  tar -C "$WORK/rootfs" -c . \
    | podman import --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      - "$RUNTIME" >/dev/null
  rm -rf "$WORK/rootfs"
fi

with_packages() {  # IMAGE PACKAGES...: $RUNTIME plus Debian packages, as IMAGE
  local image=$1; shift
  podman image exists "$image" && return 0
  echo "== $image: $RUNTIME + $*"
  {
    echo "FROM $RUNTIME"
    echo "RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends $* \\"
    echo " && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/*"
  } > "$WORK/Containerfile.$$"
  podman build -q --network host -t "$image" -f "$WORK/Containerfile.$$" "$WORK" >/dev/null
}
with_packages "$BUILD" python3-pip ca-certificates
with_packages "$PROMETHEUS" prometheus
echo "base images: $RUNTIME $BUILD $PROMETHEUS"
