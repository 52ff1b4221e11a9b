#!/usr/bin/env bash
# Makes the base images that the Dockerfile and compose.yaml name available on a host
# that cannot pull them (no registry, or an air-gapped build host), by building each
# under its official name from this host's Debian packages and its Swift toolchain:
#
#   debian:bookworm-slim   mmdebstrap --variant=minbase, with the slim image's dpkg and
#                          apt settings (no docs, no caches), then docker import
#   swift:6.3-bookworm     that base, the packages the official image carries, the local
#                          toolchain's usr tree (without lldb, the REPL, sourcekit, docs)
#                          and, where SwiftPM reads packages from a local mirror, that
#                          mirror and git's insteadOf rules, so `swift package resolve`
#                          works inside the build
#   prom/prometheus:v2.42.0  Debian's prometheus package (2.42) with the official
#                          image's paths, user and entrypoint
#
# An image that is present is kept; one that can be pulled is pulled. Usage:
#   deploy/docker/base-images.sh [--force] [IMAGE...]
# Environment: DOCKER (default /usr/bin/docker), SWIFT_TOOLCHAIN (the directory holding
# usr/bin/swift; default: found from `swift` on PATH).
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
export DOCKER_BUILDKIT=1
DEBIAN_IMAGE=debian:bookworm-slim
SWIFT_IMAGE=swift:6.3-bookworm
PROMETHEUS_IMAGE=prom/prometheus:v2.42.0
ALL_IMAGES=("$DEBIAN_IMAGE" "$SWIFT_IMAGE" "$PROMETHEUS_IMAGE")

force=false
wanted=()
for argument in "$@"; do
  case $argument in
    --force) force=true ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) wanted+=("$argument") ;;
  esac
done
[ ${#wanted[@]} -gt 0 ] || wanted=("${ALL_IMAGES[@]}")

say() { printf 'base-images: %s\n' "$*" >&2; }
present() { "$DOCKER" image inspect "$1" > /dev/null 2>&1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hearsay-base-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The host's Debian sources for bookworm, without third-party repositories: the image
# reaches packages the way this host does (a mirror, a proxy, a snapshot). deb822
# stanzas (`*.sources`) and one-line entries (`sources.list`, `*.list`) are kept apart,
# since apt and mmdebstrap tell the two formats by the file name. An entry counts as
# Debian's when it is signed by the Debian archive keyring, or (one-line entries) names
# no keyring of its own and has the `main` component.
debian_stanzas() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
      /(^|\n)Suites:[^\n]*bookworm/ && /(^|\n)Components:[^\n]*main/ && /debian-archive-keyring/' "$file"
  done
}

debian_lines() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    grep -E '^deb[[:space:]]' "$file" \
      | grep -E '[[:space:]]bookworm(-updates|-security|/updates)?[[:space:]]([^#]*[[:space:]])?main([[:space:]]|$)' \
      | awk 'index($0, "signed-by=") == 0 || index($0, "debian-archive-keyring") > 0' || true
  done | sort -u
}

# apt settings the image needs to reach those sources as the host does: a frozen
# snapshot's Release files are past their Valid-Until date; a proxy, unless it listens
# on the host's loopback, which a container cannot reach.
host_apt_settings() {
  apt-config dump 2> /dev/null \
    | grep -E '^Acquire::(Check-Valid-Until|Check-Date|http::Proxy|https::Proxy) ' \
    | grep -Ev 'Proxy "[a-z]+://(127\.|localhost|\[::1\])' || true
}

build_debian() {
  command -v mmdebstrap > /dev/null || { say "mmdebstrap is needed (apt-get install mmdebstrap)"; return 1; }
  local root=$work/debian stanzas=$work/bookworm.sources lines=$work/bookworm.list
  debian_stanzas > "$stanzas"
  debian_lines > "$lines"
  local mirrors=()
  grep -q . "$stanzas" && mirrors+=("$stanzas")
  grep -q . "$lines" && mirrors+=("$lines")
  if [ ${#mirrors[@]} -eq 0 ]; then
    say "no Debian bookworm source in /etc/apt: cannot build $DEBIAN_IMAGE"
    return 1
  fi
  mkdir -p "$root"
  # What Debian's official slim image sets, in our own words: no documentation, manual
  # pages or translations installed (as dpkg options, so that they also hold while the
  # essential packages are unpacked); apt keeps no package cache, no .deb files and no
  # translated package lists, and does not keep suggested packages installed.
  local dpkg_options=(
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/groff/*'
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/lintian/*'
    --dpkgopt='path-exclude=/usr/share/linda/*' --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
  )
  cat > "$root/apt-slim" << 'EOF'
APT::AutoRemove::SuggestsImportant "false";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order:: "gz";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF
  host_apt_settings > "$root/apt-host"
  say "building $DEBIAN_IMAGE with mmdebstrap (minbase)"
  if ! mmdebstrap --variant=minbase --mode=root --format=tar "${dpkg_options[@]}" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --customize-hook="cp '$root/apt-slim' \"\$1/etc/apt/apt.conf.d/docker-slim\"" \
    --customize-hook="cp '$root/apt-host' \"\$1/etc/apt/apt.conf.d/99host\"" \
    --customize-hook="rm -f \"\$1\"/etc/apt/sources.list \"\$1\"/etc/apt/sources.list.d/*" \
    --customize-hook="if [ -s '$stanzas' ]; then cp '$stanzas' \"\$1/etc/apt/sources.list.d/debian.sources\"; fi" \
    --customize-hook="if [ -s '$lines' ]; then cp '$lines' \"\$1/etc/apt/sources.list.d/debian.list\"; fi" \
    --customize-hook="rm -rf \"\$1\"/var/lib/apt/lists/* \"\$1\"/var/cache/apt/* \"\$1\"/var/log/* \"\$1\"/tmp/*" \
    --customize-hook="rm -f \"\$1/etc/machine-id\" \"\$1/etc/hostname\" \"\$1/etc/resolv.conf\"" \
    bookworm "$work/debian.tar" "${mirrors[@]}" > "$work/mmdebstrap.log" 2>&1; then
    tail -30 "$work/mmdebstrap.log" >&2
    return 1
  fi
  "$DOCKER" import --change 'CMD ["bash"]' "$work/debian.tar" "$DEBIAN_IMAGE" > /dev/null
  rm -f "$work/debian.tar"
}

# The directory that holds usr/bin/swift.
toolchain_root() {
  if [ -n "${SWIFT_TOOLCHAIN:-}" ]; then
    printf '%s\n' "$SWIFT_TOOLCHAIN"
    return
  fi
  local swift root
  swift=$(command -v swift) || { say "no swift on PATH; set SWIFT_TOOLCHAIN"; return 1; }
  root=$(dirname "$(dirname "$(dirname "$(readlink -f "$swift")")")")
  # A toolchain installed into /usr itself cannot be told apart from the rest of the
  # system: name its own copy instead.
  if [ "$root" = / ]; then
    say "swift is installed in /usr; set SWIFT_TOOLCHAIN to a directory holding usr/bin/swift"
    return 1
  fi
  printf '%s\n' "$root"
}

build_swift() {
  local toolchain context=$work/swift
  toolchain=$(toolchain_root)
  [ -x "$toolchain/usr/bin/swift" ] || { say "no toolchain at $toolchain"; return 1; }
  mkdir -p "$context/mirror"
  # Git's rules that send github.com to a local mirror directory (how SwiftPM is set up
  # on hosts without the Internet); the mirror goes into the image at the same path.
  local rules=$context/gitconfig mirror=""
  : > "$rules"
  while read -r key target; do
    local base=${key#url.}
    base=${base%.insteadof}
    if [ -d "$base" ]; then
      mirror=$base
      printf '[url "%s"]\n\tinsteadOf = %s\n' "$base" "$target" >> "$rules"
    fi
  done < <(git config --system --get-regexp '^url\..*\.insteadof$' 2> /dev/null || true)
  cat > "$context/Dockerfile" << EOF
FROM $DEBIAN_IMAGE
# The packages Swift's official bookworm image carries for the toolchain and SwiftPM.
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      binutils binutils-gold ca-certificates gcc git gnupg2 libc6-dev libcurl4-openssl-dev \\
      libedit2 libgcc-12-dev libncurses-dev libpython3-dev libsqlite3-0 libstdc++-12-dev \\
      libxml2-dev libz3-dev pkg-config tzdata unzip uuid-dev zlib1g-dev \\
 && rm -rf /var/lib/apt/lists/*
COPY toolchain/ /
COPY gitconfig /etc/gitconfig
COPY mirror/ /
RUN swift --version
EOF
  say "building $SWIFT_IMAGE from the toolchain in $toolchain${mirror:+ and the package mirror $mirror}"
  # The context is streamed as one tar: the toolchain is not copied to disk first.
  local excludes=(
    --exclude='usr/bin/lldb*' --exclude=usr/bin/repl_swift --exclude=usr/bin/sourcekit-lsp
    --exclude=usr/bin/clangd --exclude=usr/bin/docc --exclude='usr/lib/liblldb*'
    --exclude=usr/lib/libsourcekitdInProc.so --exclude='usr/lib/libSwiftSourceKit*'
    --exclude='usr/lib/python3*' --exclude=usr/lib/swift/embedded
    --exclude=usr/share/doc --exclude=usr/share/docc --exclude=usr/share/man
  )
  local mirror_members=()
  [ -n "$mirror" ] && mirror_members=(-C / --transform="s,^${mirror#/},mirror/${mirror#/}," "${mirror#/}")
  tar -c -f - "${excludes[@]}" -C "$context" Dockerfile gitconfig mirror \
    -C "$toolchain" --transform='s,^usr,toolchain/usr,' usr "${mirror_members[@]}" \
    | "$DOCKER" build --quiet -t "$SWIFT_IMAGE" - > /dev/null
}

build_prometheus() {
  local context=$work/prometheus
  mkdir -p "$context"
  cat > "$context/Dockerfile" << EOF
FROM $DEBIAN_IMAGE
# Debian's build of Prometheus 2.42, laid out as the official image: binaries in /bin
# (the same directory as /usr/bin on a merged-/usr system), the configuration in
# /etc/prometheus, data in /prometheus, run as nobody.
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /prometheus \\
 && chown nobody:nogroup /prometheus /etc/prometheus
USER nobody
EXPOSE 9090
VOLUME ["/prometheus"]
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
EOF
  say "building $PROMETHEUS_IMAGE from Debian's prometheus package"
  "$DOCKER" build --quiet -t "$PROMETHEUS_IMAGE" "$context" > /dev/null
}

for image in "${wanted[@]}"; do
  if ! $force && present "$image"; then
    say "$image is present"
    continue
  fi
  if ! $force && timeout 120 "$DOCKER" pull --quiet "$image" > /dev/null 2>&1; then
    say "$image pulled"
    continue
  fi
  # The other two are built on Debian's slim image.
  if [ "$image" != "$DEBIAN_IMAGE" ] && ! present "$DEBIAN_IMAGE"; then
    "$0" "$DEBIAN_IMAGE"
  fi
  previous=$("$DOCKER" image inspect --format '{{.Id}}' "$image" 2> /dev/null || true)
  started=$SECONDS
  case $image in
    "$DEBIAN_IMAGE") build_debian ;;
    "$SWIFT_IMAGE") build_swift ;;
    "$PROMETHEUS_IMAGE") build_prometheus ;;
    *) say "unknown image $image (known: ${ALL_IMAGES[*]})"; exit 2 ;;
  esac
  size=$("$DOCKER" image inspect --format '{{.Size}}' "$image")
  say "$image built in $((SECONDS - started)) s, $((size / 1000000)) MB"
  # A forced rebuild leaves the image it replaced nameless: remove it unless in use.
  if [ -n "$previous" ] && [ "$previous" != "$("$DOCKER" image inspect --format '{{.Id}}' "$image")" ]; then
    "$DOCKER" image rm "$previous" > /dev/null 2>&1 || true
  fi
done
