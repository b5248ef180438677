# The glibc a binary needs, and the glibc floor a package declares. Sourced by packaging/build (and its tests).
#
#   glibc_needed BINARY         the oldest glibc that loads BINARY, e.g. 2.36: the newest GLIBC_2.x of its version
#                               needs, and 2.36 for GLIBC_ABI_DT_RELR (or a DT_RELR table), which dpkg-shlibdeps
#                               does not see
#   deb_glibc_floor DEB         the X of "libc6 (>= X)" in the .deb's Depends (nothing when it has none)
#   rpm_glibc_floor RPM         the newest glibc among the .rpm's requires: libc.so.6(GLIBC_2.x), GLIBC_ABI_DT_RELR
#                               as 2.36, "glibc >= X"
#   check_glibc_floor PACKAGE   fails (and says why) when PACKAGE declares an older glibc than its usr/bin/ecsvpcd needs

# Needs that are not a version number: the glibc release that brought each.
glibc_abi_version() { # NAME
    case "$1" in
    GLIBC_ABI_DT_RELR) echo 2.36 ;;
    *) return 1 ;;
    esac
}

glibc_needed() { # BINARY
    local names name versions=() version
    names=$(readelf -V --wide "$1" | grep -o 'Name: GLIBC_[A-Za-z0-9_.]*' | sed 's/^Name: //' | sort -u) || true
    for name in $names; do
        case "$name" in
        GLIBC_[0-9]*) versions+=("${name#GLIBC_}") ;;
        *)
            version=$(glibc_abi_version "$name") || {
                echo "glibc_needed: $1 needs $name, whose glibc version is not known here (packaging/lib/glibc.sh)" >&2
                return 1
            }
            versions+=("$version")
            ;;
        esac
    done
    # A DT_RELR table without its version need would be ignored by an older loader: it needs 2.36 all the same.
    if readelf -d "$1" | grep -q '(RELR)'; then versions+=(2.36); fi
    [ "${#versions[@]}" -gt 0 ] || { echo "glibc_needed: $1 needs no glibc symbol version" >&2; return 1; }
    printf '%s\n' "${versions[@]}" | sort -V | tail -1
}

deb_glibc_floor() { # DEB
    dpkg-deb -f "$1" Depends | tr ',' '\n' | sed -n 's/^ *libc6 *(>= *\([^) ]*\)).*/\1/p' | sort -V | tail -1
}

rpm_glibc_floor() { # RPM
    rpm -qp --requires "$1" 2>/dev/null | awk '
        { sub(/\(64bit\)$/, "") }
        /^libc\.so\.6\(GLIBC_[0-9]/ { v = $0; sub(/^libc\.so\.6\(GLIBC_/, "", v); sub(/\).*/, "", v); print v }
        /^lib[a-z]+\.so\.[0-9]+\(GLIBC_ABI_DT_RELR\)/ { print "2.36" }
        $1 == "glibc" && ($2 == ">=" || $2 == "=") { v = $3; sub(/-.*/, "", v); print v }
    ' | sort -V | tail -1
}

check_glibc_floor() { # PACKAGE
    local package=$1 dir declared needed
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ecsvpcd-glibc.XXXXXX")
    case "$package" in
    *.deb)
        dpkg-deb -x "$package" "$dir"
        declared=$(deb_glibc_floor "$package")
        ;;
    *.rpm)
        (cd "$dir" && rpm2cpio "$package" | cpio -idm --quiet ./usr/bin/ecsvpcd)
        declared=$(rpm_glibc_floor "$package")
        ;;
    *) echo "check_glibc_floor: $package: not a .deb or .rpm" >&2; rm -rf "$dir"; return 1 ;;
    esac
    if ! needed=$(glibc_needed "$dir/usr/bin/ecsvpcd"); then rm -rf "$dir"; return 1; fi
    rm -rf "$dir"
    if [ -z "$declared" ] || ! printf '%s\n%s\n' "$needed" "$declared" | sort -V -C; then
        echo "check_glibc_floor: $(basename "$package") declares glibc ${declared:-(none)}, but its binary needs $needed" >&2
        return 1
    fi
    echo "$(basename "$package"): glibc floor $declared, the binary needs $needed" >&2
}
