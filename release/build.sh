#!/usr/bin/env bash
# Builds release products the way the agent ships, for `make release`, `make bench` and
# the Dockerfile alike: `release/build.sh --product hearsay [more swift build flags]`.
#
# - The Swift runtime linked in (--static-swift-stdlib), no exported symbols, packed
#   relative relocations (lld).
# - Identical functions folded into one (--icf=all: 1.1 MB of 20 MB, mostly generic
#   specializations and thunks that compile to the same code). Swift code does not rely
#   on distinct functions having distinct addresses; Apple's linker folds them by default.
# - Every function in a section of its own, so the linker can gather the code an agent
#   runs (release/hearsay.order, written by `make order-file`) and the nameless helpers
#   (release/unnamed-helpers.ld) at the front: code pages are mapped 64 KiB around each
#   first touch, and scattered code keeps most of the binary resident
#   (docs/benchmarks.md, "Idle footprint").
# - Generic types' metadata reached through accessor functions rather than by mangled
#   name (-disable-concrete-type-metadata-mangled-name-accessors). A mangled name is
#   demangled at its first use, and each protocol requirement of its generic arguments
#   (a dictionary's key being Hashable) looked up by a scan of every conformance record
#   in the binary, about 5,000: half the instructions an agent spent to start. An
#   accessor is handed the witness tables it needs.
#
# SwiftPM does not track the order file or the linker script as inputs, and it does not
# recompile dependencies when only -Xswiftc flags change: after changing the flags here,
# remove .build/*/release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
swift=${SWIFT:-swift}
# libstdc++ linked in: a directory that holds only its archive, searched first, so that
# every -lstdc++ of the link (the runtime's, and the ones modules ask for) finds the
# archive. The shared library's symbol and relocation tables alone kept 1 MB resident
# in every agent, for the few string and hash-table functions the Swift runtime uses.
archive=$("$(dirname "$(command -v "$swift")")/clang" -print-file-name=libstdc++.a)
[ -f "$archive" ] || { echo "release/build.sh: no libstdc++.a (install libstdc++-12-dev)" >&2; exit 1; }
static_libs=$root/.build/static-libs
mkdir -p "$static_libs"
ln -sf "$archive" "$static_libs/libstdc++.a"
# libcrypto and zlib linked in as well, through pkg-config files of their own that point
# the link at the archives (SwiftPM reads a system library's flags from pkg-config, and
# puts its -L before any given here). Linked as shared libraries, libcrypto alone cost
# every start of the agent 4,000 symbol bindings and 17,000 relocations of a 5 MB
# library, for the few functions it calls (docs/benchmarks.md, "Start-up").
mkdir -p "$static_libs/pkgconfig"
for lib in libcrypto:crypto zlib:z; do
  name=${lib%%:*} short=${lib##*:}
  library=$("$(dirname "$(command -v "$swift")")/clang" -print-file-name="lib$short.a")
  [ -f "$library" ] || { echo "release/build.sh: no lib$short.a (install libssl-dev and zlib1g-dev)" >&2; exit 1; }
  ln -sf "$library" "$static_libs/lib$short.a"
  printf 'Name: %s\nDescription: lib%s.a, linked in\nVersion: 0\nLibs: -L%s -l%s\nCflags:\n' \
    "$name" "$short" "$static_libs" "$short" > "$static_libs/pkgconfig/$name.pc"
done
export PKG_CONFIG_PATH=$static_libs/pkgconfig
exec "$swift" build -c release --package-path "$root" \
  --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic \
  -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
  -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --icf=all -Xswiftc -Xfrontend -Xswiftc -function-sections \
  -Xlinker "--symbol-ordering-file=$root/release/hearsay.order" -Xlinker --no-warn-symbol-ordering \
  -Xlinker -T -Xlinker "$root/release/unnamed-helpers.ld" \
  -Xlinker -L -Xlinker "$static_libs" -Xswiftc -Xclang-linker -Xswiftc -static-libgcc \
  "$@"
