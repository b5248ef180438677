# The release build of ecsvpcd as the packages ship it, for packaging/build and the benchmarks. Sourced, not run.
#
#   . scripts/lib/release-build.sh
#   bin=$(release_build SCRATCH_PATH)      # builds (progress on stderr), prints the binary's path
#
# Beyond `-c release`:
#   --static-swift-stdlib                   the Swift runtime, Foundation and the packages inside the binary: no
#                                           Swift libraries to install, and it starts several times faster;
#   -fuse-ld=lld, --no-export-dynamic       the executable exports no symbols (SwiftPM exports all of them for
#                                           testable executables): 412 dynamic symbols instead of 15,756, which
#                                           every library's symbol lookup at start-up walked;
#   -z now (with lld's default -z relro)    every symbol bound at start-up, then the GOT read-only (full RELRO):
#                                           the binary imports a few hundred functions, so binding them all costs
#                                           nothing measurable at start (packaging/README.md, "The build");
#   --disable-local-rpath                   no RUNPATH $ORIGIN: with the Swift runtime linked statically the
#                                           binary loads nothing from its own directory;
#   -z pack-relative-relocs (DT_RELR)       the ~60,000 relative relocations of a position-independent Swift
#                                           binary as an 11 KiB bitmap instead of a 1.4 MiB table that every
#                                           start reads. The binary then needs glibc 2.36. RELEASE_RELR=on/off
#                                           decides; by default (auto) on when the build machine's glibc is 2.36
#                                           or newer. The .rpm (Amazon Linux 2023: glibc 2.34) is built with off.
# Together: about 2 MiB less resident memory for the daemon, the executable still position-independent (ASLR).
# Without DT_RELR the binary loads on glibc 2.34: Sources/CGlibcCompat pins the one symbol (hypotf) that a build
# on a newer glibc would otherwise take at its 2.35 version.

release_build_flags() {
    local glibc
    RELEASE_BUILD_FLAGS=(-c release --static-swift-stdlib --product ecsvpcd --disable-local-rpath
        -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld -Xlinker --no-export-dynamic -Xlinker -z -Xlinker now)
    case "${RELEASE_RELR:-auto}" in
    on) RELEASE_BUILD_FLAGS+=(-Xlinker -z -Xlinker pack-relative-relocs) ;;
    off) ;;
    auto)
        glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
        if [ -n "$glibc" ] && printf '2.36\n%s\n' "$glibc" | sort -V -C; then
            RELEASE_BUILD_FLAGS+=(-Xlinker -z -Xlinker pack-relative-relocs)
        fi
        ;;
    *) echo "RELEASE_RELR=${RELEASE_RELR}: expected on, off or auto" >&2; return 1 ;;
    esac
}

release_build() { # SCRATCH_PATH
    release_build_flags || return 1
    echo "== swift build ${RELEASE_BUILD_FLAGS[*]} (scratch $1)" >&2
    swift build "${RELEASE_BUILD_FLAGS[@]}" --scratch-path "$1" >&2
    echo "$(swift build "${RELEASE_BUILD_FLAGS[@]}" --scratch-path "$1" --show-bin-path)/ecsvpcd"
}

# The glibc a binary needs, DT_RELR included: glibc_needed (packaging/lib/glibc.sh).
. "$(dirname "${BASH_SOURCE[0]}")/../../packaging/lib/glibc.sh"
