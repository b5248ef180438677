"""The packaging: packaging/build, packaging/changelog and packaging/lib/glibc.sh, and the distributions' linters on
what they make.

Run: python3 -m pytest -q Tests/Kit/test_packaging.py   (needs gcc, dpkg-dev, rpm, binutils, cpio, lintian and
rpmlint; scripts/test installs them)

packaging/build is run here on a small C program in place of ecsvpcd (ECSVPCD_BIN), which answers
--generate-completion-script as ecsvpcd does: the packages are built in seconds, and everything that does not
depend on the Swift binary is checked on them. packaging/system-test builds, lints and installs the real packages.
"""

import gzip
import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "build"
CHANGELOG = ROOT / "packaging" / "changelog"
GLIBC = ROOT / "packaging" / "lib" / "glibc.sh"
MAINTAINER = "Package Builder <builder@ecsvpcd.example.org>"
HOMEPAGE = "https://ecsvpcd.example.org/"
VERSION = re.search(r'static let current = "(.*)"', (ROOT / "Sources/ECSVPCD/Version.swift").read_text()).group(1)

FAKE_ECSVPCD = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Stands in for ecsvpcd in packaging/build: the completion scripts, with the "#!" line that
   swift-argument-parser writes for bash; and a call of mktemp, as swift-foundation's atomic write makes in the
   real binary (packaging/rpm/ecsvpcd.rpmlintrc). */
int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--mktemp") == 0) {
        return mktemp(argv[2]) == NULL;
    }
    if (argc > 2 && strcmp(argv[1], "--generate-completion-script") == 0) {
        printf("#!/bin/bash\n# %s completion for ecsvpcd\ncomplete -W 'run check status' ecsvpcd\n", argv[2]);
        return 0;
    }
    puts("ecsvpcd (stand-in)");
    return 0;
}
"""


def run(*args, env=None, check=True, cwd=ROOT):
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}")
    return result


def bash(script, *args, check=True):
    """A bash snippet with packaging/lib/glibc.sh sourced."""
    return run("bash", "-c", f". {GLIBC}; {script}", "bash", *args, check=check)


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    """The stand-in, linked like the .rpm's binary (no DT_RELR) and like the .deb's (DT_RELR, glibc 2.36)."""
    directory = tmp_path_factory.mktemp("fake")
    source = directory / "ecsvpcd.c"
    source.write_text(FAKE_ECSVPCD)
    plain, relr = directory / "ecsvpcd", directory / "ecsvpcd-relr"
    run("gcc", "-O2", "-g", "-o", plain, source, "-Wl,-z,now")
    run("gcc", "-O2", "-g", "-o", relr, source, "-Wl,-z,now", "-Wl,-z,pack-relative-relocs")
    return {"plain": plain, "relr": relr}


def build(out, binary, **env):
    result = run(
        BUILD,
        env={"ECSVPCD_BIN": binary, "DIST_DIR": out, "MAINTAINER": MAINTAINER, "HOMEPAGE": HOMEPAGE, **env},
        check=False,
    )
    return result, {pathlib.Path(line).name: pathlib.Path(line) for line in result.stdout.split()}


@pytest.fixture(scope="module")
def packages(binaries, tmp_path_factory):
    """The four packages of a build of the stand-in without DT_RELR (what the .rpm needs), by file name."""
    result, built = build(tmp_path_factory.mktemp("dist"), binaries["plain"])
    assert result.returncode == 0, result.stderr
    return built


def deb_field(deb, field):
    return run("dpkg-deb", "-f", deb, field).stdout.strip()


def rpm_query(rpm, *args):
    return run("rpm", "-qp", *args, rpm).stdout


def extract_deb(deb, into):
    run("dpkg-deb", "-R", deb, into)
    return into


# --- changelog -------------------------------------------------------------------------------------------------


def test_changelog_deb_is_debian_format_signed_by_the_maintainer(tmp_path):
    path = tmp_path / "changelog"
    path.write_text(run(CHANGELOG, "deb", VERSION, env={"MAINTAINER": MAINTAINER}).stdout)
    parsed = run("dpkg-parsechangelog", "-l", path).stdout
    assert f"Version: {VERSION}\n" in parsed
    assert f"Maintainer: {MAINTAINER}\n" in parsed
    assert all(len(line) <= 80 for line in path.read_text().splitlines() if line.startswith("  "))


def test_changelog_with_a_suffix_puts_the_rebuild_first_in_both_formats(tmp_path):
    env = {"MAINTAINER": MAINTAINER, "SOURCE_DATE_EPOCH": "1796601600"}
    deb = run(CHANGELOG, "deb", VERSION, "+test2", env=env).stdout
    assert deb.startswith(f"ecsvpcd ({VERSION}+test2) unstable; urgency=medium\n")
    assert f"\necsvpcd ({VERSION}) unstable" in deb
    rpm = run(CHANGELOG, "rpm", VERSION, "+test2", env=env).stdout
    assert re.match(rf"\* \w{{3}} \w{{3}} \d\d \d{{4}} {re.escape(MAINTAINER)} - {re.escape(VERSION)}-1\.test2\n", rpm), rpm
    assert f" - {VERSION}-1\n" in rpm


def test_changelog_refuses_a_version_without_release_notes():
    result = run(CHANGELOG, "deb", "99.0.0", env={"MAINTAINER": MAINTAINER}, check=False)
    assert result.returncode != 0
    assert 'no section "## 99.0.0 (YYYY-MM-DD)"' in result.stderr


def test_changelog_refuses_malformed_notes(tmp_path):
    notes = tmp_path / "CHANGELOG.md"
    notes.write_text("# Release notes\n\n## 1.0.0 (2026-12-07)\n\n- " + "x" * 80 + "\n")
    result = run(CHANGELOG, "rpm", "1.0.0", env={"MAINTAINER": MAINTAINER, "CHANGELOG": notes}, check=False)
    assert result.returncode != 0 and "longer than 72 characters" in result.stderr
    notes.write_text("## 1.0.0 (7 Dec 2026)\n\n- fine\n")
    result = run(CHANGELOG, "rpm", "1.0.0", env={"MAINTAINER": MAINTAINER, "CHANGELOG": notes}, check=False)
    assert result.returncode != 0 and "expected" in result.stderr


# --- glibc floor --------------------------------------------------------------------------------------------------


def test_glibc_needed_counts_dt_relr_as_2_36(binaries):
    assert bash('glibc_needed "$1"', binaries["relr"]).stdout.strip() == "2.36"
    assert bash('glibc_needed "$1"', binaries["plain"]).stdout.strip() == "2.34"


def fake_deb(tmp_path, binary, depends):
    tree = tmp_path / f"tree-{len(list(tmp_path.iterdir()))}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "usr" / "bin").mkdir(parents=True)
    shutil.copy(binary, tree / "usr" / "bin" / "ecsvpcd")
    (tree / "DEBIAN" / "control").write_text(
        f"Package: ecsvpcd\nVersion: 1\nArchitecture: amd64\nMaintainer: {MAINTAINER}\nDepends: {depends}\n"
        "Description: test\n test\n"
    )
    deb = tree.with_suffix(".deb")
    run("dpkg-deb", "--root-owner-group", "--build", tree, deb)
    return deb


def test_check_glibc_floor_refuses_a_deb_that_declares_less_than_dt_relr_needs(binaries, tmp_path):
    # What dpkg-shlibdeps alone declares for a DT_RELR binary: its newest symbol version, 2.34.
    low = fake_deb(tmp_path, binaries["relr"], "libc6 (>= 2.34)")
    result = bash('check_glibc_floor "$1"', low, check=False)
    assert result.returncode != 0
    assert "declares glibc 2.34, but its binary needs 2.36" in result.stderr
    enough = fake_deb(tmp_path, binaries["relr"], "libc6 (>= 2.36), libsystemd0")
    assert bash('check_glibc_floor "$1"', enough, check=False).returncode == 0


def fake_rpm(tmp_path, binary, requires):
    spec = tmp_path / "test.spec"
    spec.write_text(
        f"Name: ecsvpcd\nVersion: 1\nRelease: 1\nSummary: test\nLicense: Apache-2.0\nAutoReq: no\n"
        f"Requires: {requires}\n%description\ntest\n%install\ninstall -D -m 0755 {binary} %{{buildroot}}/usr/bin/ecsvpcd\n"
        "%files\n/usr/bin/ecsvpcd\n"
    )
    run(
        "rpmbuild", "-bb", "--quiet", "--define", f"_topdir {tmp_path}/rpmbuild", "--define", f"_rpmdir {tmp_path}",
        "--define", "_build_name_fmt test.rpm", "--define", "debug_package %{nil}", "--define", "__os_install_post %{nil}",
        spec,
    )
    return tmp_path / "test.rpm"


def test_check_glibc_floor_refuses_an_rpm_that_declares_less_than_dt_relr_needs(binaries, tmp_path):
    low = fake_rpm(tmp_path, binaries["relr"], "glibc >= 2.34")
    result = bash('check_glibc_floor "$1"', low, check=False)
    assert result.returncode != 0
    assert "declares glibc 2.34, but its binary needs 2.36" in result.stderr


def test_the_rpm_floor_comes_from_rpms_own_requires(packages):
    rpm = packages[f"ecsvpcd-{VERSION}-1.x86_64.rpm"]
    assert "libc.so.6(GLIBC_2.34)(64bit)" in rpm_query(rpm, "--requires")
    assert bash('rpm_glibc_floor "$1"', rpm).stdout.strip() == "2.34"


# --- the packages -------------------------------------------------------------------------------------------------


def test_a_dt_relr_binary_gets_libc6_2_36_in_the_deb(binaries, tmp_path):
    result, built = build(tmp_path, binaries["relr"], PACKAGES="deb")
    assert result.returncode == 0, result.stderr
    depends = deb_field(built[f"ecsvpcd_{VERSION}_amd64.deb"], "Depends")
    assert depends.startswith("libc6 (>= 2.36)"), depends


def test_the_rpm_refuses_a_binary_amazon_linux_2023_cannot_load(binaries, tmp_path):
    result, _ = build(tmp_path, binaries["relr"], PACKAGES="rpm")
    assert result.returncode != 0
    assert "needs glibc 2.36; Amazon Linux 2023 has 2.34" in result.stderr


def test_the_build_refuses_a_binary_with_a_runpath(binaries, tmp_path):
    # What SwiftPM links into an executable unless --disable-local-rpath: RUNPATH $ORIGIN.
    source = tmp_path / "ecsvpcd.c"
    source.write_text(FAKE_ECSVPCD)
    binary = tmp_path / "ecsvpcd-runpath"
    run("gcc", "-O2", "-o", binary, source, "-Wl,-z,now", "-Wl,--enable-new-dtags,-rpath,$ORIGIN")
    result, _ = build(tmp_path / "dist", binary, PACKAGES="deb")
    assert result.returncode != 0
    assert "has a RUNPATH" in result.stderr and "--disable-local-rpath" in result.stderr


def test_the_build_refuses_a_maintainer_that_is_no_address(binaries, tmp_path):
    result, _ = build(tmp_path, binaries["plain"], MAINTAINER="ecsvpcd maintainers <ecsvpcd@localhost>")
    assert result.returncode != 0 and "MAINTAINER=" in result.stderr


def test_the_deb_carries_maintainer_homepage_changelog_and_no_shebang_in_completions(packages, tmp_path):
    deb = packages[f"ecsvpcd_{VERSION}_amd64.deb"]
    assert deb_field(deb, "Maintainer") == MAINTAINER
    assert deb_field(deb, "Homepage") == HOMEPAGE
    tree = extract_deb(deb, tmp_path / "deb")
    changelog = gzip.decompress((tree / "usr/share/doc/ecsvpcd/changelog.gz").read_bytes()).decode()
    assert changelog.startswith(f"ecsvpcd ({VERSION}) unstable; urgency=medium")
    assert f" -- {MAINTAINER}  " in changelog
    for completion in ["usr/share/bash-completion/completions/ecsvpcd", "usr/share/fish/vendor_completions.d/ecsvpcd.fish"]:
        assert not (tree / completion).read_text().startswith("#!"), completion
    assert (tree / "usr/share/lintian/overrides/ecsvpcd").is_file()
    assert "etc/ecsvpcd/ecsvpcd.conf" not in (tree / "DEBIAN/md5sums").read_text()


def test_the_deb_maintainer_scripts_use_the_helpers_and_never_ecs_service(packages, tmp_path):
    tree = extract_deb(packages[f"ecsvpcd_{VERSION}_amd64.deb"], tmp_path / "deb")
    scripts = {name: (tree / "DEBIAN" / name).read_text() for name in ["postinst", "prerm", "postrm"]}
    everything = "\n".join(scripts.values())
    assert "deb-systemd-helper enable ecsvpcd.service" in scripts["postinst"]
    assert "deb-systemd-invoke start ecsvpcd.service" in scripts["postinst"]
    assert "deb-systemd-invoke stop ecsvpcd.service" in scripts["prerm"]
    assert "deb-systemd-helper purge ecsvpcd.service" in scripts["postrm"]
    # systemctl only for daemon-reload; the catalog is systemd's trigger's business; no removal marker.
    for line in everything.splitlines():
        if re.match(r"^\s*systemctl\b", line):
            assert "daemon-reload" in line, line
    assert "journalctl" not in everything and ".package-removed" not in everything
    code = "\n".join(line for line in everything.splitlines() if not line.lstrip().startswith("#"))
    assert "ecs.service" not in code.replace("ecsvpcd.service", "") and "ecs-agent" not in code
    # Purge removes what ecsvpcd wrote, never the whole of /etc/ecsvpcd or /var/lib/ecsvpcd.
    assert "rm -rf" not in scripts["postrm"]


def test_the_ddeb_holds_the_symbols_under_the_binarys_build_id(packages, tmp_path):
    deb_tree = extract_deb(packages[f"ecsvpcd_{VERSION}_amd64.deb"], tmp_path / "deb")
    ddeb = packages[f"ecsvpcd-dbgsym_{VERSION}_amd64.ddeb"]
    binary = deb_tree / "usr/bin/ecsvpcd"
    build_id = re.search(r"Build ID: ([0-9a-f]+)", run("readelf", "-n", binary).stdout).group(1)
    sections = run("readelf", "-S", "--wide", binary).stdout
    assert ".symtab" not in sections and ".debug_info" not in sections and ".gnu_debuglink" in sections
    assert deb_field(ddeb, "Package") == "ecsvpcd-dbgsym"
    assert deb_field(ddeb, "Build-Ids") == build_id
    assert deb_field(ddeb, "Depends") == f"ecsvpcd (= {VERSION})"
    debug = extract_deb(ddeb, tmp_path / "ddeb") / f"usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug"
    assert ".symtab" in run("readelf", "-S", "--wide", debug).stdout


def test_the_rpm_fields_files_and_scriptlets(packages):
    rpm = packages[f"ecsvpcd-{VERSION}-1.x86_64.rpm"]
    info = rpm_query(rpm, "--qf", "%{SUMMARY}\n%{URL}\n%{LICENSE}\n%{PACKAGER}\n")
    summary, url, licence, packager = info.splitlines()
    assert len(summary) <= 80
    assert url == HOMEPAGE and packager == MAINTAINER
    assert "Unicode-3.0" in licence and "Apache-2.0" in licence
    assert f"- {VERSION}-1" in rpm_query(rpm, "--changelog")
    requires = rpm_query(rpm, "--requires")
    assert "systemd-libs" not in requires
    assert re.search(r"^systemd$", requires, re.M)
    post = rpm_query(rpm, "--qf", "[%{REQUIRENAME} %{REQUIREFLAGS:deptype}\n]")
    assert "systemd post" in post and "systemd preun" in post and "systemd postun" in post
    dirs = rpm_query(rpm, "--qf", "[%{FILEMODES:perms} %{FILENAMES}\n]")
    assert re.search(r"^d\S+ /usr/share/doc/ecsvpcd$", dirs, re.M), dirs
    assert re.search(r"^d\S+ /usr/share/licenses/ecsvpcd$", dirs, re.M), dirs
    assert "/usr/lib/.build-id/" in dirs
    scripts = rpm_query(rpm, "--scripts")
    assert "systemd-update-helper install-system-units ecsvpcd.service" in scripts
    assert "systemd-update-helper remove-system-units ecsvpcd.service" in scripts
    assert "systemd-update-helper mark-restart-system-units ecsvpcd.service" in scripts
    assert "%systemd" not in scripts and "journalctl" not in scripts
    code = "\n".join(line for line in scripts.splitlines() if not line.lstrip().startswith("#"))
    assert "ecs.service" not in code.replace("ecsvpcd.service", "") and "ecs-agent" not in code


def test_the_debuginfo_rpm_holds_the_symbols_with_build_id_links(packages):
    debuginfo = packages[f"ecsvpcd-debuginfo-{VERSION}-1.x86_64.rpm"]
    files = rpm_query(debuginfo, "-l")
    assert re.search(rf"^/usr/lib/debug/usr/bin/ecsvpcd-{re.escape(VERSION)}-1\.x86_64\.debug$", files, re.M), files
    assert re.search(r"^/usr/lib/debug/\.build-id/[0-9a-f]{2}/[0-9a-f]+\.debug$", files, re.M), files


# --- the distributions' linters -----------------------------------------------------------------------------------


def lintian_findings(*packages):
    result = run("lintian", "--pedantic", "--info", *packages, check=False)
    return [line for line in result.stdout.splitlines() if re.match(r"^[EW]: ", line)], result


def test_lintian_pedantic_finds_no_error_or_warning(packages):
    findings, result = lintian_findings(
        packages[f"ecsvpcd_{VERSION}_amd64.deb"], packages[f"ecsvpcd-dbgsym_{VERSION}_amd64.ddeb"]
    )
    assert findings == [], result.stdout


def test_rpmlint_finds_no_error(packages):
    result = run(
        "rpmlint", "-c", ROOT / "packaging/rpm/rpmlint.toml", "-r", ROOT / "packaging/rpm/ecsvpcd.rpmlintrc",
        packages[f"ecsvpcd-{VERSION}-1.x86_64.rpm"], packages[f"ecsvpcd-debuginfo-{VERSION}-1.x86_64.rpm"],
        check=False,
    )
    assert re.search(r"\b0 errors, 0 warnings\b", result.stdout), result.stdout
