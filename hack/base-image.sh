#!/usr/bin/env bash
# hack/base-image.sh: makes sure the image debian:bookworm-slim exists in the
# local Docker engine. No registry can be reached here, so it is built:
# debootstrap --variant=minbase from the Debian mirror this machine's apt uses,
# trimmed like the official slim image, then `docker import`ed under the tag
# the Dockerfiles name. The root filesystem tarball is cached under
# $OSB_CACHE_DIR/images, so later runs (and a pruned engine) only re-import.
#
# Run it, or source it and call ensure_base_image. OSB_DEBIAN_MIRROR overrides
# the mirror; OSB_BASE_IMAGE overrides the tag (default debian:bookworm-slim).
set -euo pipefail
_base_sh_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_base_sh_dir/lib.sh"
. "$_base_sh_dir/docker.sh"

OSB_BASE_IMAGE=${OSB_BASE_IMAGE:-debian:bookworm-slim}

# apt_source_uri SUITE: the first URI the host's apt sources use for SUITE
# (deb822 .sources files and one-line .list files both understood).
apt_source_uri() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    # deb822: paragraphs separated by blank lines.
    awk -v s="$suite" 'BEGIN{RS=""; FS="\n"}
      { uri=""; hit=0; deb=0
        for (i=1;i<=NF;i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uri=u[1] }
          if ($i ~ /^Suites:/) { n=split($i, w, /[ \t]+/); for (j=2;j<=n;j++) if (w[j]==s) hit=1 }
          if ($i ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb=1
        }
        if (hit && deb && uri!="") { print uri; exit } }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    awk -v s="$suite" '$1=="deb" { i=2; if ($2 ~ /^\[/) { while (i<=NF && $i !~ /\]$/) i++; i++ }
      if ($(i+1)==s) { print $i; exit } }' "$f"
  done
}

ensure_base_image() {
  ensure_docker
  if "$DOCKER" image inspect "$OSB_BASE_IMAGE" >/dev/null 2>&1; then return 0; fi

  local mirror security
  mirror=${OSB_DEBIAN_MIRROR:-$(apt_source_uri bookworm | head -n1)}
  mirror=${mirror:-http://deb.debian.org/debian}
  security=$(apt_source_uri bookworm-security | head -n1)
  local dir="$OSB_CACHE_DIR/images"
  # The tarball name carries the mirror so a changed mirror rebuilds it.
  local key
  key=$(printf '%s %s' "$mirror" "$security" | sha256sum | cut -c1-12)
  local tarball="$dir/debian-bookworm-slim-$key.tar.gz"
  mkdir -p "$dir"

  if [ ! -s "$tarball" ]; then
    need_apt debootstrap
    [ "$(id -u)" = 0 ] || die "debootstrap needs root: sudo $0"
    local rootfs
    rootfs=$(mktemp -d "$dir/rootfs.XXXXXX")
    on_exit "rm -rf '$rootfs'"
    log "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
    local t0=$SECONDS
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 \
      || die "debootstrap failed; see $dir/debootstrap.log"
    slim_rootfs "$rootfs" "$mirror" "$security"
    tar -C "$rootfs" --numeric-owner -czf "$tarball.tmp" . || die "tar of $rootfs failed"
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    log "base rootfs built in $((SECONDS - t0))s: $tarball ($(du -h "$tarball" | cut -f1))"
  fi

  log "docker import $tarball as $OSB_BASE_IMAGE"
  "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase bookworm $mirror" \
    "$tarball" "$OSB_BASE_IMAGE" >/dev/null || die "docker import failed"
}

# slim_rootfs DIR MIRROR SECURITY: what the official slim image does (no docs,
# man pages or locales, empty apt lists/caches), plus apt sources pointing at
# the same mirror as the host so `apt-get` inside builds reaches it.
slim_rootfs() {
  local r=$1 mirror=$2 security=$3
  mkdir -p "$r/etc/dpkg/dpkg.cfg.d" "$r/etc/apt/apt.conf.d"
  cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
# as in the official debian:*-slim images
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
  cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  echo 'APT::Install-Recommends "false";' >"$r/etc/apt/apt.conf.d/docker-no-recommends"
  rm -f "$r/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror"
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security"
    fi
  } >"$r/etc/apt/sources.list.d/debian.sources"
  find "$r/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$r/usr/share/man/"* "$r/usr/share/info/"* "$r/usr/share/groff/"* "$r/usr/share/lintian/"*
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb "$r/var/log/"*.log "$r/var/log/apt/"*
  rm -f "$r/etc/hostname" "$r/etc/resolv.conf"
  : >"$r/etc/machine-id"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ensure_base_image
fi
