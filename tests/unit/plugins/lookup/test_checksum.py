# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checksum lookup on real files and trees under tmp_path, loaded through core's plugin loader (which gives it
its options from the documentation) with a loader of the test's own for the playbook directory."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible_collections.jvmops.deploy.plugins.lookup import checksum as checksum_module


def _collection_modules():
    return {name: module for name, module in sys.modules.items()
            if name == "ansible_collections" or name.startswith("ansible_collections.")}


@pytest.fixture(scope="module", autouse=True)
def collection_loader():
    """The collection loader, set up as ansible-playbook sets it up (as in test_monitor_plan): left alone when it is
    there already; the collection's packages imported before are put aside meanwhile and back afterwards."""
    if AnsibleCollectionConfig.collection_finder is not None:
        yield
        return
    root = Path(checksum_module.__file__).resolve().parents[4]  # .../ansible_collections/jvmops/deploy/plugins/lookup
    assert root.name == "ansible_collections"
    saved = _collection_modules()
    for name in saved:
        del sys.modules[name]
    init_plugin_loader([str(root.parent)])
    try:
        yield
    finally:
        AnsibleCollectionConfig.collection_finder._remove()  # pylint: disable=protected-access
        for name in _collection_modules():
            del sys.modules[name]
        sys.modules.update(saved)


class Loader:
    """What the lookup asks of the DataLoader: the playbook's directory."""

    def __init__(self, basedir):
        self.basedir = str(basedir)

    def get_basedir(self):
        return self.basedir


@pytest.fixture(name="lookup")
def lookup_fixture(tmp_path):
    """lookup(*terms, **options) -> the list the lookup returns, with tmp_path/play as the playbook directory."""
    play = tmp_path / "play"
    play.mkdir()
    plugin = lookup_loader.get("jvmops.deploy.checksum", loader=Loader(play), templar=None)
    assert plugin is not None

    def lookup(*terms, **options):
        return plugin.run([str(term) for term in terms], variables={}, **options)

    lookup.play = play
    return lookup


@pytest.fixture(name="tree")
def tree_fixture(tmp_path):
    """A directory tree with a subdirectory, a hidden file and a link."""
    top = tmp_path / "src"
    (top / "main" / "scala").mkdir(parents=True)
    (top / "main" / "scala" / "App.scala").write_text("object App\n")
    (top / "build.sbt").write_text('name := "hello"\n')
    (top / ".sbtopts").write_text("-J-Xmx2g\n")
    (top / "current").symlink_to("main")
    return top


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# Files

def test_a_file_gives_the_sha256_of_its_content(lookup, tmp_path):
    archive, empty = tmp_path / "hello.tar.gz", tmp_path / "empty"
    archive.write_bytes(bytes(range(256)) * 10)
    empty.write_bytes(b"")
    assert lookup(archive, empty) == [sha256(bytes(range(256)) * 10), sha256(b"")]
    assert lookup(empty) == ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]  # what sha256sum prints


def test_a_file_larger_than_a_block_is_hashed_whole(lookup, tmp_path):
    data = os.urandom(2 * 1024 * 1024 + 7)  # more than one block (1 MiB) read at a time
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    assert lookup(big) == [sha256(data)]


def test_a_link_to_a_file_gives_the_files_digest(lookup, tmp_path):
    (tmp_path / "real").write_bytes(b"real\n")
    (tmp_path / "link").symlink_to("real")
    assert lookup(tmp_path / "link") == [sha256(b"real\n")]


# Directories

def test_a_tree_digest_is_64_hexadecimal_digits_and_stable(lookup, tree):
    first = lookup(tree)
    assert len(first[0]) == 64 and set(first[0]) <= set("0123456789abcdef")
    assert lookup(tree) == first
    assert lookup(tree, tree) == first * 2


def test_the_same_tree_elsewhere_gives_the_same_digest(lookup, tree, tmp_path):
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(tree, copy, symlinks=True)  # modes and link targets kept
    assert lookup(copy) == lookup(tree)


@pytest.mark.parametrize("change", [
    pytest.param(lambda top: (top / "build.sbt").write_text('name := "hello2"\n'), id="content"),
    pytest.param(lambda top: (top / "main" / "scala" / "App.scala").write_text("object App2\n"), id="content-deep"),
    pytest.param(lambda top: (top / "main" / "scala" / "Other.scala").write_text("object Other\n"), id="file-added"),
    pytest.param(lambda top: (top / ".gitignore").write_text("target/\n"), id="hidden-file-added"),
    pytest.param(lambda top: (top / ".sbtopts").write_text("-J-Xmx4g\n"), id="hidden-file-changed"),
    pytest.param(lambda top: (top / "build.sbt").unlink(), id="file-removed"),
    pytest.param(lambda top: (top / "build.sbt").rename(top / "build2.sbt"), id="file-renamed"),
    pytest.param(lambda top: (top / "build.sbt").chmod(0o755), id="mode"),
    pytest.param(lambda top: (top / "main").chmod(0o700), id="directory-mode"),
    pytest.param(lambda top: (top / "target").mkdir(), id="empty-directory-added"),
    pytest.param(lambda top: ((top / "current").unlink(), (top / "current").symlink_to("main/scala")), id="link-target"),
    pytest.param(lambda top: ((top / "current").unlink(), (top / "current").mkdir()), id="link-to-directory"),
])
def test_a_tree_digest_changes_with_any_change_in_the_tree(lookup, tree, change):
    (tree / "build.sbt").chmod(0o644)
    (tree / "main").chmod(0o755)
    before = lookup(tree)
    change(tree)
    after = lookup(tree)
    assert after != before
    assert lookup(tree) == after


def test_links_in_a_tree_are_not_followed(lookup, tree, tmp_path):
    outside = tmp_path / "outside.conf"
    outside.write_text("one\n")
    (tree / "outside").symlink_to(outside)
    (tree / "looped").symlink_to(".")  # would never end if followed
    before = lookup(tree)
    outside.write_text("two\n")
    assert lookup(tree) == before


def test_the_digest_is_made_of_path_mode_kind_and_content(lookup, tmp_path):
    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    (top / "sub").chmod(0o750)
    (top / "sub" / "a.txt").write_text("a\n")
    (top / "sub" / "a.txt").chmod(0o640)
    (top / "link").symlink_to("sub/a.txt")
    link_mode = f"{os.lstat(top / 'link').st_mode & 0o7777:04o}"
    content = sha256(b"a\n")
    lines = [f"link\t{link_mode}\tlink\tsub/a.txt", "sub\t0750\tdirectory\t", f"sub/a.txt\t0640\tfile\t{content}"]
    assert lookup(top) == [sha256("\n".join(lines).encode())]


def test_an_empty_directory_has_a_digest(lookup, tmp_path):
    (tmp_path / "empty").mkdir()
    assert lookup(tmp_path / "empty") == [sha256(b"")]


# Paths

def test_a_missing_path_fails_naming_it_unless_missing_is_empty(lookup, tmp_path):
    gone = tmp_path / "no-such-archive.tar.gz"
    with pytest.raises(AnsibleLookupError) as caught:
        lookup(gone)
    assert str(caught.value) == f"checksum: {gone} does not exist on the controller"
    with pytest.raises(AnsibleLookupError):
        lookup(gone, missing="error")
    (tmp_path / "there").write_bytes(b"x")
    assert lookup(tmp_path / "there", gone, missing="empty") == [sha256(b"x"), ""]


def test_a_dangling_link_counts_as_missing(lookup, tmp_path):
    (tmp_path / "dangling").symlink_to("nowhere")
    assert lookup(tmp_path / "dangling", missing="empty") == [""]


def test_an_unknown_missing_value_is_refused(lookup, tmp_path):
    (tmp_path / "there").write_bytes(b"x")
    with pytest.raises(AnsibleError) as caught:
        lookup(tmp_path / "there", missing="ignore")
    assert "missing" in str(caught.value) and "ignore" in str(caught.value)


def test_relative_paths_are_taken_from_the_playbook_directory(lookup, tmp_path, monkeypatch):
    (lookup.play / "files").mkdir()
    (lookup.play / "files" / "app.jar").write_bytes(b"PK jar")
    (lookup.play / "src").mkdir()
    (lookup.play / "src" / "Main.java").write_text("class Main {}\n")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "app.jar").write_bytes(b"another jar")
    monkeypatch.chdir(tmp_path)  # not the current directory
    assert lookup("files/app.jar", "src") == [sha256(b"PK jar"), lookup(lookup.play / "src")[0]]
    with pytest.raises(AnsibleLookupError) as caught:
        lookup("files/missing.jar")
    assert "files/missing.jar" in str(caught.value)
    assert lookup("files/missing.jar", missing="empty") == [""]
