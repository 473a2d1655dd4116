# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The packaging core, on real files under tmp_path: layout, runners, idempotence, removal, check
mode, the reproducible archive and every bad-input rule."""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
import zlib

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _xitrum_files as files
from ansible_collections.jvmops.deploy.plugins.module_utils import _xitrum_package as core
from ansible_collections.jvmops.deploy.plugins.module_utils._archive import ARCHIVE_MTIME
from ansible_collections.jvmops.deploy.plugins.module_utils._xitrum_package import XitrumPackageError, package
from ansible_collections.jvmops.deploy.plugins.module_utils._xitrum_runner import sh_quote

MAIN = "quickstart.Boot"
OLD = 1_600_000_000_000_000_000  # a fixed source mtime (ns)


def write(path, data=b"x", mode=0o644, mtime_ns=OLD):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    path.chmod(mode)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


@pytest.fixture(name="proj")
def fixture_proj(tmp_path):
    root = tmp_path / "myapp"
    write(root / "target" / "scala-2.13" / "myapp_2.13-1.0.jar", b"main jar")
    write(root / "lib_managed" / "a" / "dep-a-1.0.jar", b"dependency a")
    write(root / "lib_managed" / "b" / "dep-b-2.0.jar", b"dependency b, longer")
    write(root / "config" / "xitrum.conf", "xitrum { port = 8000 }\n")
    write(root / "config" / "logback.xml", "<configuration/>\n", mode=0o600)
    write(root / "public" / "css" / "site.css", "body {}\n")
    write(root / "public" / "js" / "app.js", "run()\n")
    write(root / "public" / "index.html", "<html></html>\n")
    (root / "public" / "empty").mkdir()
    write(root / "doc" / "README.txt", "read me\n")
    write(root / "script" / "scalive", "#!/bin/sh\n", mode=0o755)
    return root


def run(proj, **kw):
    args = dict(project_dir=str(proj), main_jar="target/scala-2.13/myapp_2.13-1.0.jar", main_class=MAIN,
                jars=["lib_managed/**/*.jar"])
    args.update(kw)
    return package(**args)


def tree(root):
    """Every path below root (dirs with a trailing /), the index excluded."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in dirnames:
            out.append(os.path.normpath(os.path.join(rel, name)) + "/")
        for name in filenames:
            path = os.path.normpath(os.path.join(rel, name))
            if path != core.INDEX_NAME:
                out.append(path)
    return sorted(out)


def snapshot(root):
    """(inode, mtime_ns, ctime_ns, mode) of everything below root, the index included."""
    out = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames + [""]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out[os.path.relpath(path, root)] = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)
    return out


EXPECTED_TREE = sorted([
    "config/", "config/logback.xml", "config/xitrum.conf",
    "lib/", "lib/dep-a-1.0.jar", "lib/dep-b-2.0.jar", "lib/myapp_2.13-1.0.jar",
    "public/", "public/css/", "public/css/site.css", "public/empty/", "public/index.html", "public/js/",
    "public/js/app.js",
    "script/", "script/runner", "script/runner.bat", "script/scalive",
])


# ---------------------------------------------------------------------------------------------
# Layout and content


def test_first_run_builds_the_xitrum_layout(proj):
    result = run(proj)
    dest = proj / "target" / "xitrum"
    assert result["changed"] is True
    assert result["dest"] == str(dest)
    assert tree(dest) == EXPECTED_TREE
    assert result["files"] == 11
    assert result["added"] == EXPECTED_TREE
    assert result["not_copied"] == []
    assert result["changed_files"] == [] and result["removed"] == []
    assert (dest / "lib" / "dep-b-2.0.jar").read_bytes() == b"dependency b, longer"
    assert (dest / "config" / "xitrum.conf").read_text() == "xitrum { port = 8000 }\n"
    assert (dest / core.INDEX_NAME).is_file()
    assert not [p for p in os.listdir(proj / "target") if p.endswith(".xptmp")]
    assert len(result["package_checksum"]) == 64
    assert result["archive"] is None and result["archive_checksum"] is None


def test_copies_keep_mode_and_mtime(proj):
    run(proj)
    dest = proj / "target" / "xitrum"
    st = os.stat(dest / "config" / "logback.xml")
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_mtime_ns == OLD
    assert stat.S_IMODE(os.stat(dest / "script" / "runner").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(dest / "script" / "runner.bat").st_mode) == 0o644


def test_copy_option_brings_files_and_directories(proj):
    result = run(proj, copy=["doc/README.txt", "script"])
    dest = proj / "target" / "xitrum"
    assert (dest / "doc" / "README.txt").read_text() == "read me\n"
    assert (dest / "script" / "scalive").stat().st_mode & 0o777 == 0o755
    assert "doc/" in result["added"] and "doc/README.txt" in result["added"]


def test_copy_of_config_matches_config_dir_without_conflict(proj):
    # XitrumPackage.copy("config", "public", "script") style: the same files twice are fine.
    result = run(proj, copy=["config", "public", "script"])
    assert tree(proj / "target" / "xitrum") == EXPECTED_TREE
    assert result["files"] == 11


def test_missing_default_config_and_public_give_empty_dirs(proj):
    shutil.rmtree(proj / "config")
    shutil.rmtree(proj / "public")
    shutil.rmtree(proj / "script")
    result = run(proj)
    dest = proj / "target" / "xitrum"
    assert os.listdir(dest / "config") == [] and os.listdir(dest / "public") == []
    assert sorted(os.listdir(dest / "script")) == ["runner", "runner.bat"]
    assert result["files"] == 5


def test_script_dir_is_copied_like_xitrum_package_and_its_runners_give_way(proj):
    # A Xitrum project's script/ has its own runner and runner.bat: the generated ones (main_class, jvm_options)
    # are what the package holds, and the project's are listed as not copied.
    write(proj / "script" / "runner", "#!/bin/sh\necho project runner\n", mode=0o755)
    write(proj / "script" / "runner.bat", "@echo project\r\n")
    write(proj / "script" / "tools" / "gc.sh", "#!/bin/sh\n", mode=0o750)
    result = run(proj)
    dest = proj / "target" / "xitrum"
    assert result["not_copied"] == ["script/runner", "script/runner.bat"]
    assert "project runner" not in (dest / "script" / "runner").read_text()
    assert MAIN in (dest / "script" / "runner").read_text()
    assert (dest / "script" / "scalive").stat().st_mode & 0o777 == 0o755
    assert (dest / "script" / "tools" / "gc.sh").stat().st_mode & 0o777 == 0o750
    assert run(proj)["changed"] is False
    # Another directory as script_dir; a script removed from it leaves the package.
    write(proj / "bin" / "console", "#!/bin/sh\n", mode=0o755)
    other = run(proj, script_dir="bin")
    assert other["changed"] is True and other["not_copied"] == []
    assert sorted(os.listdir(dest / "script")) == ["console", "runner", "runner.bat"]
    assert "script/scalive" in other["removed"] and "script/tools/gc.sh" in other["removed"]


def test_symlinked_files_and_dirs_are_copied_as_content(proj, tmp_path):
    outside = write(tmp_path / "shared" / "theme.css", "shared\n").parent
    os.symlink(outside, proj / "public" / "theme")
    os.symlink("../index.html", proj / "public" / "css" / "index-link.html")
    run(proj)
    dest = proj / "target" / "xitrum" / "public"
    assert not (dest / "theme").is_symlink() and (dest / "theme" / "theme.css").read_text() == "shared\n"
    assert not (dest / "css" / "index-link.html").is_symlink()
    assert (dest / "css" / "index-link.html").read_text() == "<html></html>\n"


def test_classpath_file_lists_jars_and_skips_directories(proj):
    (proj / "target" / "classes").mkdir()
    cp = "%s:%s\n%s\n" % (proj / "lib_managed" / "a" / "dep-a-1.0.jar", proj / "target" / "classes",
                          "lib_managed/b/dep-b-2.0.jar")
    write(proj / "target" / "cp.txt", cp)
    result = run(proj, jars=[], classpath_file="target/cp.txt")
    assert sorted(os.listdir(proj / "target" / "xitrum" / "lib")) == [
        "dep-a-1.0.jar", "dep-b-2.0.jar", "myapp_2.13-1.0.jar"]
    assert result["files"] == 11


def test_jars_pattern_ignores_an_earlier_package(proj):
    first = run(proj, jars=["target/**/*.jar", "lib_managed/**/*.jar"])
    second = run(proj, jars=["target/**/*.jar", "lib_managed/**/*.jar"])
    assert first["changed"] is True and second["changed"] is False
    assert second["package_checksum"] == first["package_checksum"]


def test_absolute_dest_and_absolute_patterns(proj, tmp_path):
    dest = tmp_path / "out" / "app"
    result = run(proj, dest=str(dest), jars=[str(proj / "lib_managed" / "*" / "*.jar")])
    assert result["dest"] == str(dest)
    assert tree(dest) == EXPECTED_TREE


# ---------------------------------------------------------------------------------------------
# Idempotence and updates


def test_second_run_changes_and_rewrites_nothing(proj):
    first = run(proj, copy=["doc"])
    dest = proj / "target" / "xitrum"
    before = snapshot(dest)
    second = run(proj, copy=["doc"])
    assert second["changed"] is False
    assert second["added"] == [] and second["changed_files"] == [] and second["removed"] == []
    assert second["package_checksum"] == first["package_checksum"]
    assert snapshot(dest) == before


def test_touched_source_is_not_a_change_and_not_rewritten(proj):
    first = run(proj)
    dest = proj / "target" / "xitrum"
    ino = os.stat(dest / "public" / "index.html").st_ino
    os.utime(proj / "public" / "index.html", ns=(OLD + 10**9, OLD + 10**9))
    second = run(proj)
    assert second["changed"] is False
    assert second["package_checksum"] == first["package_checksum"]
    st = os.stat(dest / "public" / "index.html")
    assert st.st_ino == ino and st.st_mtime_ns == OLD + 10**9
    before = snapshot(dest)
    assert run(proj)["changed"] is False
    assert snapshot(dest) == before


def test_same_size_new_content_is_copied(proj):
    first = run(proj)
    write(proj / "public" / "index.html", "<html>XY</html", mtime_ns=OLD + 5)
    assert len("<html>XY</html") == len("<html></html>\n")
    second = run(proj)
    assert second["changed"] is True
    assert second["changed_files"] == ["public/index.html"]
    assert second["added"] == [] and second["removed"] == []
    assert (proj / "target" / "xitrum" / "public" / "index.html").read_text() == "<html>XY</html"
    assert second["package_checksum"] != first["package_checksum"]


def test_new_size_is_copied_atomically(proj):
    run(proj)
    target = proj / "target" / "xitrum" / "lib" / "dep-a-1.0.jar"
    ino = os.stat(target).st_ino
    write(proj / "lib_managed" / "a" / "dep-a-1.0.jar", b"dependency a, new release")
    result = run(proj)
    assert result["changed_files"] == ["lib/dep-a-1.0.jar"]
    assert target.read_bytes() == b"dependency a, new release"
    assert os.stat(target).st_ino != ino  # a new file renamed into place, not rewritten in place


def test_mode_change_is_a_change(proj):
    run(proj)
    (proj / "config" / "xitrum.conf").chmod(0o640)
    result = run(proj)
    assert result["changed"] is True and result["changed_files"] == ["config/xitrum.conf"]
    assert stat.S_IMODE(os.stat(proj / "target" / "xitrum" / "config" / "xitrum.conf").st_mode) == 0o640


def test_stale_files_and_directories_are_removed(proj):
    run(proj, copy=["doc"])
    shutil.rmtree(proj / "public" / "css")
    os.unlink(proj / "lib_managed" / "b" / "dep-b-2.0.jar")
    result = run(proj, jars=["lib_managed/a/*.jar"])
    assert result["changed"] is True
    assert result["removed"] == ["doc/", "doc/README.txt", "lib/dep-b-2.0.jar", "public/css/", "public/css/site.css"]
    dest = proj / "target" / "xitrum"
    assert not (dest / "public" / "css").exists() and not (dest / "doc").exists()
    assert (dest / "public" / "empty").is_dir()  # still a source directory


def test_edited_generated_runner_is_restored(proj):
    run(proj)
    runner = proj / "target" / "xitrum" / "script" / "runner"
    good = runner.read_bytes()
    runner.write_bytes(good.replace(b"exec", b"echo"))
    result = run(proj)
    assert result["changed_files"] == ["script/runner"]
    assert runner.read_bytes() == good


def test_main_class_change_rewrites_both_runners(proj):
    run(proj)
    result = run(proj, main_class="quickstart.Other")
    assert result["changed_files"] == ["script/runner", "script/runner.bat"]


def test_type_changes_in_dest_are_repaired(proj):
    run(proj)
    dest = proj / "target" / "xitrum"
    os.unlink(dest / "public" / "index.html")
    (dest / "public" / "index.html").mkdir()
    write(dest / "public" / "index.html" / "junk", "junk")
    shutil.rmtree(dest / "public" / "js")
    write(dest / "public" / "js", "a file where a directory belongs")
    os.symlink("/etc/hostname", dest / "config" / "xitrum.conf.tmp")
    result = run(proj)
    assert result["added"] == ["public/index.html", "public/js/", "public/js/app.js"]
    assert result["removed"] == ["config/xitrum.conf.tmp", "public/index.html/", "public/index.html/junk", "public/js"]
    assert tree(dest) == EXPECTED_TREE
    assert run(proj)["changed"] is False


def test_leftover_temporary_file_is_removed(proj):
    run(proj)
    write(proj / "target" / "xitrum" / "lib" / ".dep-a-1.0.jar.123.0.xptmp", b"half")
    result = run(proj)
    assert result["removed"] == ["lib/.dep-a-1.0.jar.123.0.xptmp"]


def test_corrupt_index_is_rebuilt_without_a_change(proj):
    first = run(proj)
    index = proj / "target" / "xitrum" / core.INDEX_NAME
    index.write_text("{not json")
    second = run(proj)
    assert second["changed"] is False and second["package_checksum"] == first["package_checksum"]
    assert index.read_text().startswith("{")


def test_package_checksum_depends_only_on_content(proj, tmp_path):
    first = run(proj)
    other = tmp_path / "elsewhere" / "app"
    shutil.copytree(proj, other, symlinks=True, ignore=shutil.ignore_patterns("target"))
    write(other / "target" / "scala-2.13" / "myapp_2.13-1.0.jar", b"main jar", mtime_ns=OLD + 77)
    assert run(other)["package_checksum"] == first["package_checksum"]
    write(other / "public" / "index.html", "changed\n")
    assert run(other)["package_checksum"] != first["package_checksum"]


def test_threads_give_the_same_package(proj):
    for i in range(150):
        write(proj / "public" / "many" / ("f%03d.txt" % i), "file %d\n" % i * (i + 1))
    one = run(proj, dest="target/one", workers=1)
    four = run(proj, dest="target/four", workers=4)
    assert one["package_checksum"] == four["package_checksum"]
    assert tree(proj / "target" / "one") == tree(proj / "target" / "four")
    for i in (0, 77, 149):
        rel = os.path.join("public", "many", "f%03d.txt" % i)
        assert (proj / "target" / "four" / rel).read_bytes() == (proj / rel).read_bytes()


def test_copy_falls_back_when_copy_file_range_is_missing(proj, monkeypatch):
    monkeypatch.setitem(files._STATE, "copy_file_range", False)
    result = run(proj)
    assert (proj / "target" / "xitrum" / "lib" / "dep-b-2.0.jar").read_bytes() == b"dependency b, longer"
    monkeypatch.setitem(files._STATE, "copy_file_range", True)
    shutil.rmtree(proj / "target" / "xitrum")
    assert run(proj)["package_checksum"] == result["package_checksum"]


def test_copy_falls_back_when_copy_file_range_fails(proj, monkeypatch):
    def refuse(*_args):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(files.os, "copy_file_range", refuse, raising=False)
    result = run(proj)
    assert (proj / "target" / "xitrum" / "lib" / "dep-b-2.0.jar").read_bytes() == b"dependency b, longer"
    monkeypatch.undo()
    assert run(proj, dest="target/again")["package_checksum"] == result["package_checksum"]


def test_symlinks_in_dest_are_removed_not_followed(proj, tmp_path):
    run(proj)
    outside = write(tmp_path / "outside" / "keep.txt", "keep").parent
    os.symlink(outside, proj / "target" / "xitrum" / "public" / "ext")
    result = run(proj)
    assert result["removed"] == ["public/ext"]
    assert (outside / "keep.txt").read_text() == "keep"
    assert not os.path.lexists(proj / "target" / "xitrum" / "public" / "ext")


# ---------------------------------------------------------------------------------------------
# Check mode and diff


def test_check_mode_on_a_new_package_writes_nothing_and_predicts_it(proj):
    predicted = run(proj, check_mode=True, archive="target/xitrum.tar.gz")
    assert not (proj / "target" / "xitrum").exists() and not (proj / "target" / "xitrum.tar.gz").exists()
    real = run(proj, archive="target/xitrum.tar.gz")
    for key in ("changed", "added", "changed_files", "removed", "files", "package_checksum", "archive_checksum"):
        assert predicted[key] == real[key], key


def test_check_mode_on_changes_writes_nothing_and_predicts_them(proj):
    run(proj, archive="target/xitrum.tar.gz")
    dest = proj / "target" / "xitrum"
    before = snapshot(dest)
    archive_before = os.stat(proj / "target" / "xitrum.tar.gz")
    write(proj / "config" / "xitrum.conf", "changed config\n")
    os.unlink(proj / "public" / "js" / "app.js")
    write(proj / "public" / "new.txt", "new\n")
    predicted = run(proj, check_mode=True, archive="target/xitrum.tar.gz")
    assert predicted["changed"] is True
    assert predicted["added"] == ["public/new.txt"]
    assert predicted["changed_files"] == ["config/xitrum.conf"]
    assert predicted["removed"] == ["public/js/app.js"]  # public/js/ itself is still a source directory
    assert snapshot(dest) == before
    assert os.stat(proj / "target" / "xitrum.tar.gz").st_mtime_ns == archive_before.st_mtime_ns
    real = run(proj, archive="target/xitrum.tar.gz")
    for key in ("added", "changed_files", "removed", "package_checksum", "archive_checksum"):
        assert predicted[key] == real[key], key
    assert run(proj, check_mode=True, archive="target/xitrum.tar.gz")["changed"] is False


def test_diff_lists_added_changed_and_removed(proj):
    run(proj)
    write(proj / "config" / "xitrum.conf", "changed config\n")
    os.unlink(proj / "public" / "index.html")
    write(proj / "public" / "new.txt", "new\n")
    result = run(proj, diff=True)
    lines = result["diff"]["prepared"].splitlines()
    assert lines[:3] == ["~ config/xitrum.conf", "- public/index.html", "+ public/new.txt"]
    assert lines[3] == "%s: 1 added, 1 changed, 1 removed; 11 files in the package" % result["dest"]
    assert "diff" not in run(proj)


def test_diff_names_the_archive(proj):
    first = run(proj, diff=True, archive="target/app.tar.gz")["diff"]["prepared"].splitlines()
    assert first[-2] == "+ archive %s" % (proj / "target" / "app.tar.gz")
    write(proj / "public" / "index.html", "<html>new</html>\n")
    second = run(proj, diff=True, archive="target/app.tar.gz")["diff"]["prepared"].splitlines()
    assert second[-2] == "~ archive %s" % (proj / "target" / "app.tar.gz")
    assert second[0] == "~ public/index.html"


# ---------------------------------------------------------------------------------------------
# The archive


def read_archive(path):
    with tarfile.open(path) as tar:
        return [(m.name, m.mode, m.mtime, m.uid, m.gid, m.uname, m.gname, m.type) for m in tar.getmembers()]


def test_archive_is_reproducible(proj, tmp_path):
    archive = proj / "target" / "xitrum.tar.gz"
    first = run(proj, archive="target/xitrum.tar.gz")
    data = archive.read_bytes()
    assert first["archive"] == str(archive)
    assert first["archive_checksum"] == hashlib.sha256(data).hexdigest()
    assert data[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no flags (no file name)
    assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0
    members = read_archive(archive)
    names = [m[0] for m in members]
    assert names == sorted(names) and names[0] == "xitrum"
    assert {m[2] for m in members} == {ARCHIVE_MTIME}
    assert {(m[3], m[4], m[5], m[6]) for m in members} == {(0, 0, "", "")}
    assert ("xitrum/script/runner", 0o755) in [(m[0], m[1]) for m in members]
    assert ("xitrum/config/logback.xml", 0o600) in [(m[0], m[1]) for m in members]
    assert "xitrum/public/empty" in names
    assert not [n for n in names if core.INDEX_NAME in n]
    with tarfile.open(archive) as tar:
        assert tar.extractfile("xitrum/lib/dep-a-1.0.jar").read() == b"dependency a"

    st = os.stat(archive)
    second = run(proj, archive="target/xitrum.tar.gz")
    assert second["changed"] is False and second["archive_checksum"] == first["archive_checksum"]
    assert (os.stat(archive).st_ino, os.stat(archive).st_mtime_ns) == (st.st_ino, st.st_mtime_ns)

    # Touched sources and a package built elsewhere give the same bytes.
    for path in (proj / "public").rglob("*"):
        os.utime(path, ns=(OLD + 3 * 10**9, OLD + 3 * 10**9))
    assert run(proj, archive="target/xitrum.tar.gz")["archive_checksum"] == first["archive_checksum"]
    other = tmp_path / "other"
    shutil.copytree(proj, other)
    shutil.rmtree(other / "target" / "xitrum")
    os.unlink(other / "target" / "xitrum.tar.gz")
    third = run(other, archive=str(tmp_path / "copy.tar.gz"))
    assert (tmp_path / "copy.tar.gz").read_bytes() == data
    assert third["archive_checksum"] == first["archive_checksum"]


def test_archive_is_rewritten_when_the_package_changes(proj):
    first = run(proj, archive="target/xitrum.tar.gz", archive_prefix="myapp-1.0")
    write(proj / "public" / "index.html", "<html>new</html>\n")
    second = run(proj, archive="target/xitrum.tar.gz", archive_prefix="myapp-1.0")
    assert second["changed"] is True and second["archive_checksum"] != first["archive_checksum"]
    with tarfile.open(proj / "target" / "xitrum.tar.gz") as tar:
        assert tar.extractfile("myapp-1.0/public/index.html").read() == b"<html>new</html>\n"


def test_replaced_archive_is_detected(proj):
    first = run(proj, archive="target/xitrum.tar.gz")
    write(proj / "target" / "xitrum.tar.gz", b"not the archive")
    second = run(proj, archive="target/xitrum.tar.gz")
    assert second["changed"] is True and second["archive_checksum"] == first["archive_checksum"]
    assert second["added"] == [] and second["changed_files"] == []


# Recorded from the archive writer xitrum_package had before it used module_utils/_archive.py: the
# same sample must keep giving the same bytes (the gzip bytes depend on zlib, the tar bytes do not).
SAMPLE_TAR_SHA256 = "c8a6718919ecedf064666bdc8cd5ffa9341087a005b1f02c5c6d8b2a6de2aa85"
SAMPLE_GZ_SHA256 = "f73e7b528bb8dfd82faedc2f84891539ea9969d5f31724dfc348263d3ecafffe"
SAMPLE_ZLIB = "1.2.13"


def test_archive_bytes_are_those_of_the_first_writer(tmp_path):
    root = tmp_path / "app"
    write(root / "target" / "app.jar", b"main jar " * 100)
    write(root / "lib_managed" / "dep-a-1.0.jar", bytes(range(256)) * 40)
    write(root / "config" / "xitrum.conf", "xitrum { port = 8000 }\n")
    write(root / "config" / "logback.xml", "<configuration/>\n", mode=0o600)
    write(root / "public" / "css" / "site.css", "body {}\n")
    write(root / "public" / "index.html", "<html></html>\n")
    (root / "public" / "empty").mkdir()
    write(root / "doc" / "README.txt", "read me\n", mode=0o755)
    result = package(project_dir=str(root), main_jar="target/app.jar", main_class=MAIN, jars=["lib_managed/*.jar"],
                     copy=["doc"], jvm_options=["-Xmx1g", "-Dq=it's 100%"], archive="out/app.tar.gz",
                     archive_prefix="app-1.0")
    data = (root / "out" / "app.tar.gz").read_bytes()
    assert hashlib.sha256(gzip.decompress(data)).hexdigest() == SAMPLE_TAR_SHA256
    assert result["archive_checksum"] == hashlib.sha256(data).hexdigest()
    if zlib.ZLIB_RUNTIME_VERSION == SAMPLE_ZLIB:
        assert result["archive_checksum"] == SAMPLE_GZ_SHA256


# ---------------------------------------------------------------------------------------------
# The runners


def fake_java(path):
    write(path, '#!/bin/sh\nprintf "%s\\n" "java=$0" "cwd=$(pwd -P)"\nfor a in "$@"; do printf "arg=%s\\n" "$a"; done\n',
          mode=0o755)


def test_runner_execs_java_with_options_classpath_and_args(proj, tmp_path):
    opts = ["-Xmx1g", "-Dgreeting=it's a $HOME *", "-Dempty="]
    run(proj, jvm_options=opts)
    dest = proj / "target" / "xitrum"
    fake_java(tmp_path / "jdk" / "bin" / "java")
    # "lib/*" would match the jars if the runner let the shell expand JAVA_OPTS.
    env = dict(os.environ, JAVA_HOME=str(tmp_path / "jdk"), JAVA_OPTS="-Xmx2g lib/*")
    out = subprocess.run([str(dest / "script" / "runner"), "one arg", "two"], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == [
        "java=%s" % (tmp_path / "jdk" / "bin" / "java"),
        "cwd=%s" % os.path.realpath(dest),
        "arg=-Xmx1g", "arg=-Dgreeting=it's a $HOME *", "arg=-Dempty=",
        "arg=-Xmx2g", "arg=lib/*",
        "arg=-cp", "arg=lib/*:config", "arg=" + MAIN, "arg=one arg", "arg=two",
    ]


def test_runner_without_java_home_uses_path_and_follows_symlinks(proj, tmp_path):
    run(proj)
    dest = proj / "target" / "xitrum"
    fake_java(tmp_path / "bin" / "java")
    (tmp_path / "links").mkdir()
    os.symlink(dest / "script" / "runner", tmp_path / "links" / "myapp")
    os.symlink("myapp", tmp_path / "links" / "myapp2")  # relative link to a link
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "JAVA_OPTS")}
    env["PATH"] = "%s:%s" % (tmp_path / "bin", os.environ.get("PATH", "/usr/bin:/bin"))
    out = subprocess.run(["sh", str(tmp_path / "links" / "myapp2")], env=env, cwd="/", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out == ["java=%s" % (tmp_path / "bin" / "java"), "cwd=%s" % os.path.realpath(dest),
                   "arg=-cp", "arg=lib/*:config", "arg=" + MAIN]


def test_runner_accepts_the_main_class_as_first_argument_like_xitrum(proj, tmp_path):
    run(proj)
    dest = proj / "target" / "xitrum"
    fake_java(tmp_path / "jdk" / "bin" / "java")
    env = dict(os.environ, JAVA_HOME=str(tmp_path / "jdk"), JAVA_OPTS="")
    out = subprocess.run([str(dest / "script" / "runner"), MAIN, "demo", "100"], env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[2:] == ["arg=-cp", "arg=lib/*:config", "arg=" + MAIN, "arg=demo", "arg=100"]


@pytest.mark.skipif(not (shutil.which("javac") and shutil.which("java")), reason="needs a JDK")
def test_runner_starts_a_real_jvm(proj, tmp_path):
    src = write(tmp_path / "src" / "quickstart" / "Boot.java", """
package quickstart;
public class Boot {
    public static void main(String[] args) throws Exception {
        java.io.InputStream in = Boot.class.getResourceAsStream("/xitrum.conf");
        System.out.println("conf=" + new String(in.readAllBytes()).trim());
        System.out.println("opt=" + System.getProperty("greeting"));
        System.out.println("over=" + System.getProperty("level"));
        System.out.println("args=" + String.join("|", args));
    }
}
""")
    subprocess.run(["javac", "-d", str(tmp_path / "classes"), str(src)], check=True)
    jar = proj / "target" / "scala-2.13" / "myapp_2.13-1.0.jar"
    with zipfile.ZipFile(jar, "w") as zf:
        zf.write(tmp_path / "classes" / "quickstart" / "Boot.class", "quickstart/Boot.class")
    run(proj, jvm_options=["-Dgreeting=hello world", "-Dlevel=default"])
    env = dict(os.environ, JAVA_OPTS="-Dlevel=override")
    env.pop("JAVA_HOME", None)
    out = subprocess.run([str(proj / "target" / "xitrum" / "script" / "runner"), "a b", "c"], env=env,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["conf=xitrum { port = 8000 }", "opt=hello world", "over=override", "args=a b|c"]


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="needs shellcheck")
def test_runner_passes_shellcheck(proj):
    run(proj, jvm_options=["-Dx=it's"])
    check = subprocess.run(["shellcheck", "-s", "sh", str(proj / "target" / "xitrum" / "script" / "runner")],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout


def test_runner_bat_is_crlf_and_quotes_options(proj):
    run(proj, jvm_options=["-Xmx1g", "-Dratio=100%"])
    data = (proj / "target" / "xitrum" / "script" / "runner.bat").read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") > 5
    lines = data.decode().split("\r\n")
    assert lines[0] == "@echo off"
    assert 'if defined JAVA_HOME set "JAVA=%JAVA_HOME%\\bin\\java"' in lines
    assert '"%JAVA%" "-Xmx1g" "-Dratio=100%%" %JAVA_OPTS% -cp "lib\\*;config" quickstart.Boot %*' in lines


@pytest.mark.parametrize("value", ["plain", "it's", "a b", "$HOME", "*", "'", "''x'", "back\\slash", "tab\there"])
def test_sh_quote_round_trips(value):
    out = subprocess.run(["sh", "-c", "printf %s " + sh_quote(value)], capture_output=True, text=True,
                         check=True).stdout
    assert out == value


# ---------------------------------------------------------------------------------------------
# Bad input: a clear message, and nothing written


BAD = [
    ({"project_dir": "/nonexistent/jvmops"}, "project_dir '/nonexistent/jvmops' does not exist"),
    ({"main_jar": "target/missing.jar"}, "main_jar 'target/missing.jar' does not exist"),
    ({"main_jar": "config"}, "main_jar 'config' is not a regular file"),
    ({"jars": ["lib_managed/**/*.jar", "nothing/*.jar"]}, "jars pattern 'nothing/*.jar' matches no file"),
    ({"jars": [""]}, "jars entries must be non-empty glob patterns"),
    ({"classpath_file": "target/none.txt"}, "classpath_file 'target/none.txt' does not exist"),
    ({"config_dir": "conf"}, "config_dir 'conf' does not exist"),
    ({"public_dir": "doc/README.txt"}, "public_dir 'doc/README.txt' is not a directory"),
    ({"script_dir": "scripts"}, "script_dir 'scripts' does not exist"),
    ({"script_dir": "doc/README.txt"}, "script_dir 'doc/README.txt' is not a directory"),
    ({"dest": "script/out"}, "must not be inside script_dir"),
    ({"copy": ["/etc"]}, "copy entry '/etc' must be a path relative to project_dir"),
    ({"copy": ["../outside"]}, "copy entry '../outside' must name a file or directory inside project_dir"),
    ({"copy": ["."]}, "copy entry '.' must name a file or directory inside project_dir"),
    ({"copy": ["doc/MISSING"]}, "copy entry 'doc/MISSING' does not exist in project_dir"),
    ({"dest": "."}, "must not be project_dir itself"),
    ({"dest": "/"}, "dest must not be '/'"),
    ({"dest": ".."}, "must not contain project_dir"),
    ({"dest": "config/out"}, "must not be inside config_dir"),
    ({"dest": "public/out"}, "must not be inside public_dir"),
    ({"dest": "doc/out", "copy": ["doc"]}, "must not be inside copy entry 'doc'"),
    ({"dest": "doc/README.txt"}, "exists and is not a directory"),
    ({"main_class": "foo bar"}, "main_class 'foo bar' is not a valid Java class name"),
    ({"main_class": "1st.Boot"}, "is not a valid Java class name"),
    ({"main_class": "a..Boot"}, "is not a valid Java class name"),
    ({"main_class": ""}, "is not a valid Java class name"),
    ({"main_class": "com.class.Boot"}, "'class' is a reserved word"),
    ({"main_class": "Boot;rm"}, "is not a valid Java class name"),
    ({"jvm_options": ['-Dq="x"']}, "contains a double quote, which cannot be written safely into script/runner.bat"),
    ({"jvm_options": ["-Da=1\n-Db=2"]}, "contains a line break"),
    ({"jvm_options": [""]}, "jvm_options entries must be non-empty strings"),
    ({"archive": "target/xitrum/app.tar.gz"}, "must not be inside dest"),
    ({"archive": "public/app.tar.gz"}, "must not be inside public_dir"),
    ({"archive": "doc"}, "archive '%s' is a directory"),
    ({"archive": "app.tar.gz", "archive_prefix": "a/b"}, "archive_prefix 'a/b' must be a single directory name"),
    ({"archive_prefix": "x"}, "archive_prefix is only used with archive"),
]


@pytest.mark.parametrize("kw,message", BAD, ids=[m for _kw, m in BAD])
def test_bad_input_fails_before_writing(proj, kw, message):
    with pytest.raises(XitrumPackageError) as err:
        run(proj, **kw)
    assert message.replace("%s", str(proj / "doc")) in str(err.value)
    assert not (proj / "target" / "xitrum").exists()
    assert not os.path.exists("/xitrum") and not (proj.parent / "xitrum").exists()


def test_project_dir_that_is_a_file(proj):
    with pytest.raises(XitrumPackageError, match="project_dir '.*README.txt' is not a directory"):
        run(proj / "doc" / "README.txt")


def test_duplicate_basenames_name_both_files(proj):
    write(proj / "lib_managed" / "c" / "dep-a-1.0.jar", b"another a")
    with pytest.raises(XitrumPackageError) as err:
        run(proj)
    msg = str(err.value)
    assert "two different files would be copied to lib/dep-a-1.0.jar" in msg
    assert str(proj / "lib_managed" / "a" / "dep-a-1.0.jar") in msg
    assert str(proj / "lib_managed" / "c" / "dep-a-1.0.jar") in msg


def test_classpath_entry_that_does_not_exist(proj):
    write(proj / "cp.txt", "lib_managed/a/dep-a-1.0.jar:/nonexistent/x.jar\n")
    with pytest.raises(XitrumPackageError, match="classpath_file 'cp.txt' lists '/nonexistent/x.jar', which does not exist"):
        run(proj, classpath_file="cp.txt")


def test_copy_bringing_the_generated_runner(proj):
    write(proj / "script" / "runner", "#!/bin/sh\n", mode=0o755)
    with pytest.raises(XitrumPackageError) as err:
        run(proj, copy=["script"])
    assert "copy entry 'script' would bring script/runner" in str(err.value)
    assert "the module generates that file" in str(err.value)


def test_source_inside_dest(proj):
    run(proj)
    with pytest.raises(XitrumPackageError, match="config_dir '.*target/xitrum/config' must not be inside dest"):
        run(proj, config_dir="target/xitrum/config")
    with pytest.raises(XitrumPackageError, match="main_jar '.*' must not be inside dest"):
        run(proj, main_jar="target/xitrum/lib/myapp_2.13-1.0.jar")


def test_foreign_dest_is_refused_and_kept(proj, tmp_path):
    other = tmp_path / "home"
    write(other / "notes.txt", "precious")
    write(other / "lib" / "keep.jar", b"keep")
    with pytest.raises(XitrumPackageError, match="already holds files this module did not write .notes.txt"):
        run(proj, dest=str(other))
    assert (other / "notes.txt").read_text() == "precious" and (other / "lib" / "keep.jar").exists()


def test_sbt_made_dest_is_taken_over(proj):
    dest = proj / "target" / "xitrum"
    write(dest / "lib" / "old.jar", b"old")
    write(dest / "script" / "runner", "#!/bin/sh\n")
    result = run(proj)
    assert "lib/old.jar" in result["removed"] and "script/runner" in result["changed_files"]


def test_unreadable_source_directory(proj, monkeypatch):
    real_scandir = os.scandir
    blocked = str(proj / "public" / "css")

    def scandir(path="."):
        if str(path) == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(core.os, "scandir", scandir)
    with pytest.raises(XitrumPackageError, match="public_dir: cannot read .*public/css: Permission denied"):
        run(proj)
    assert not (proj / "target" / "xitrum").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_source_file(proj):
    (proj / "public" / "index.html").chmod(0)
    with pytest.raises(XitrumPackageError, match="cannot read .*index.html"):
        run(proj)
    assert not (proj / "target" / "xitrum").exists()


def test_broken_symlink_in_a_source(proj):
    os.symlink("nowhere.css", proj / "public" / "css" / "gone.css")
    with pytest.raises(XitrumPackageError, match="public_dir: .*gone.css is a broken symbolic link"):
        run(proj)


def test_symlink_loop_in_a_source(proj):
    os.symlink("..", proj / "public" / "css" / "up")
    with pytest.raises(XitrumPackageError, match="public_dir: symbolic link loop at .*css/up"):
        run(proj)


def test_special_file_in_a_source(proj):
    os.mkfifo(proj / "public" / "pipe")
    with pytest.raises(XitrumPackageError, match="pipe is not a regular file or directory"):
        run(proj)


def test_failed_write_leaves_no_half_package(proj, monkeypatch):
    def boom(*_args, **_kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "_copy_fd", boom)
    with pytest.raises(XitrumPackageError, match="Failed to copy .* No space left on device"):
        run(proj)
    assert not (proj / "target" / "xitrum").exists()
    assert not [p for p in os.listdir(proj / "target") if "xptmp" in p]
