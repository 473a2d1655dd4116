# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""heroku_deploy: the source tarball and the option checks."""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import HerokuOptionError
from ansible_collections.jvmops.deploy.plugins.modules import heroku_deploy
from ansible_collections.jvmops.deploy.plugins.modules.heroku_deploy import pack_source, sha256


def make_source(root):
    (root / "target" / "xitrum" / "script").mkdir(parents=True)
    (root / "Procfile").write_text("web: target/xitrum/script/runner jvmops.hello.Main\n")
    runner = root / "target" / "xitrum" / "script" / "runner"
    runner.write_text("#!/bin/sh\nexec java\n")
    runner.chmod(0o700)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def test_the_tarball_depends_on_content_and_modes_only(tmp_path):
    src = make_source(tmp_path / "src")
    pack_source(str(src), [".git"], str(tmp_path / "one.tar.gz"))
    os.utime(src / "Procfile", (1, 1))
    (src / ".git" / "HEAD").write_text("ref: refs/heads/other\n")
    pack_source(str(src), [".git"], str(tmp_path / "two.tar.gz"))
    assert sha256(str(tmp_path / "one.tar.gz")) == sha256(str(tmp_path / "two.tar.gz"))
    with tarfile.open(tmp_path / "one.tar.gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert ".git" not in members and ".git/HEAD" not in members
    assert members["target/xitrum/script/runner"].mode == 0o755
    assert members["Procfile"].mode == 0o644
    assert {m.uid for m in members.values()} == {0}
    (src / "Procfile").write_text("web: other\n")
    pack_source(str(src), [".git"], str(tmp_path / "three.tar.gz"))
    assert sha256(str(tmp_path / "three.tar.gz")) != sha256(str(tmp_path / "one.tar.gz"))


def test_a_directory_without_procfile_is_refused(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(HerokuOptionError, match="src: .* has no Procfile at its top"):
        pack_source(str(tmp_path / "src"), [], str(tmp_path / "x.tar.gz"))


@pytest.mark.parametrize("setup, message", [
    ("missing", "does not exist (give a directory to pack or a .tar.gz file)"),
    ("zip", "is a file but not a .tar.gz or .tgz tarball"),
    ("broken", "is not a gzipped tarball"),
    ("noprocfile", "has no Procfile at its top"),
    ("timeout", "wait_timeout: must be more than 0 seconds, got 0"),
])
def test_bad_sources_fail_before_any_request(invoke, no_heroku_http, tmp_path, setup, message):
    src = tmp_path / "source.tar.gz"
    args = {"api_key": "k", "api_url": "https://api.example.test", "app": "app-one", "src": str(src)}
    if setup == "zip":
        src = tmp_path / "source.zip"
        src.write_bytes(b"PK")
        args["src"] = str(src)
    elif setup == "broken":
        src.write_bytes(b"not gzip")
    elif setup == "noprocfile":
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "README").write_text("x")
        with tarfile.open(src, "w:gz") as tar:
            tar.add(tmp_path / "d" / "README", arcname="app/README")
    elif setup == "timeout":
        args["wait_timeout"] = 0
    result = invoke(heroku_deploy.main, args)
    assert result.failed
    assert message in result.result["msg"]
    assert not no_heroku_http


def test_the_checksum_of_a_source_stays_what_it_was(tmp_path):
    """The shared archive writer, with the module's FIXED_MTIME and gzip level 9, gives the bytes of the earlier writer."""
    src = make_source(tmp_path / "src")
    os.symlink("Procfile", src / "Procfile.link")
    pack_source(str(src), [".git"], str(tmp_path / "one.tar.gz"))
    with tarfile.open(tmp_path / "one.tar.gz") as tar:
        assert {m.mtime for m in tar.getmembers()} == {heroku_deploy.FIXED_MTIME}
        assert tar.getmember("Procfile.link").issym()
    raw = (tmp_path / "one.tar.gz").read_bytes()
    # The tar stream and the gzip header of the earlier writer (the deflate bytes depend on the zlib build too).
    assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == "ae671992f7b778a0039c99c6d174d289b8fbecc49f5248afe32919b109b95838"
    assert raw[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no name, mtime 0, level 9 (XFL 2)


def test_what_cannot_be_packed_is_named_by_the_src_option(tmp_path):
    src = make_source(tmp_path / "src")
    os.mkfifo(src / "pipe")
    with pytest.raises(HerokuOptionError, match=r"^src: cannot pack .*pipe: is a socket, FIFO or device file"):
        pack_source(str(src), [], str(tmp_path / "x.tar.gz"))
