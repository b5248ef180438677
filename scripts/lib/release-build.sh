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
#   -z pack-relative-relocs (DT_RELR)       the ~60,000 relative relocations of a position-independent Swift
#                                           binary as an 11 KiB bitmap instead of a 1.4 MiB table that every
#                                           start reads; only when the build machine's glibc is 2.36 or newer,
#                                           which the binary then needs (it already needs the build machine's
#                                           glibc: Swift's static runtime references symbols as new as 2.35).
# Together: about 2 MiB less resident memory for the daemon, the executable still position-independent (ASLR).

release_build_flags() {
    local glibc
    RELEASE_BUILD_FLAGS=(-c release --static-swift-stdlib --product ecsvpcd
        -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld -Xlinker --no-export-dynamic)
    glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
    if [ -n "$glibc" ] && printf '2.36\n%s\n' "$glibc" | sort -V -C; then
        RELEASE_BUILD_FLAGS+=(-Xlinker -z -Xlinker pack-relative-relocs)
    fi
}

release_build() { # SCRATCH_PATH
    release_build_flags
    echo "== swift build ${RELEASE_BUILD_FLAGS[*]} (scratch $1)" >&2
    swift build "${RELEASE_BUILD_FLAGS[@]}" --scratch-path "$1" >&2
    echo "$(swift build "${RELEASE_BUILD_FLAGS[@]}" --scratch-path "$1" --show-bin-path)/ecsvpcd"
}
