# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reproducible .tar.gz writer every packaging module uses: order, normalised metadata, the
gzip header, hashing on the way through, and the entries of a directory tree."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _archive as archive
from ansible_collections.jvmops.deploy.plugins.module_utils._archive import (
    ARCHIVE_MTIME,
    ArchiveError,
    HashingWriter,
    directory,
    file_from_bytes,
    file_from_path,
    sha256_file,
    symlink,
    tree_entries,
    write_tar_gz,
)


def tar_gz(entries, **kw):
    buf = io.BytesIO()
    write_tar_gz(buf, entries, **kw)
    return buf.getvalue()


def members(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}, [m.name for m in tar.getmembers()]


def sample():
    return [file_from_bytes("app/b.txt", b"bee", 0o640), directory("app"), symlink("app/link", "b.txt"),
            directory("app/a"), file_from_bytes("app/a/x.sh", b"#!/bin/sh\n", 0o755)]


def test_entries_are_sorted_and_normalised():
    data = tar_gz(sample())
    by_name, names = members(data)
    assert names == ["app", "app/a", "app/a/x.sh", "app/b.txt", "app/link"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in by_name.values()} == {(ARCHIVE_MTIME, 0, 0, "", "")}
    assert by_name["app"].isdir() and by_name["app"].mode == 0o755
    assert (by_name["app/b.txt"].mode, by_name["app/b.txt"].size) == (0o640, 3)
    assert by_name["app/a/x.sh"].mode == 0o755
    assert by_name["app/link"].issym() and by_name["app/link"].linkname == "b.txt"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.extractfile("app/b.txt").read() == b"bee"


def test_same_entries_in_any_order_give_the_same_bytes():
    assert tar_gz(sample()) == tar_gz(list(reversed(sample())))


def test_gzip_header_has_no_name_and_no_time_and_the_tar_is_pax():
    data = tar_gz(sample())
    assert data[:4] == b"\x1f\x8b\x08\x00"  # deflate, no flags: no file name
    assert data[4:8] == b"\0\0\0\0"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.format == tarfile.PAX_FORMAT


def test_mtime_and_level_can_be_chosen():
    by_name, _names = members(tar_gz(sample(), mtime=0, level=1))
    assert {m.mtime for m in by_name.values()} == {0}
    assert tar_gz(sample(), level=1) != tar_gz(sample(), level=9)


def test_a_file_entry_is_read_when_the_archive_is_written(tmp_path):
    path = tmp_path / "late.txt"
    entry = file_from_path("late.txt", str(path), 5)
    path.write_bytes(b"later")
    with tarfile.open(fileobj=io.BytesIO(tar_gz([entry]))) as tar:
        assert tar.extractfile("late.txt").read() == b"later"
        assert tar.getmember("late.txt").mode == 0o644


def test_entry_kinds():
    assert directory("d").is_dir
    assert not file_from_bytes("f", b"").is_dir
    assert not symlink("l", "t").is_dir


class Trickle(io.RawIOBase):
    """A raw writer that takes at most three bytes a call, like a pipe under pressure."""

    def __init__(self):
        super().__init__()
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data += bytes(b[:3])
        return min(len(b), 3)


def test_hashing_writer_hashes_and_passes_on_every_byte():
    out = Trickle()
    sink = HashingWriter(out)
    write_tar_gz(sink, sample())
    assert bytes(out.data) == tar_gz(sample())
    assert sink.hexdigest() == hashlib.sha256(out.data).hexdigest()
    assert sink.size == len(out.data)


def test_hashing_writer_without_output_only_hashes():
    sink = HashingWriter()
    assert sink.write(b"abc") == 3
    sink.flush()
    assert sink.hexdigest() == hashlib.sha256(b"abc").hexdigest() and sink.size == 3


def test_tree_entries_normalise_modes_keep_links_and_exclude(tmp_path):
    root = tmp_path / "src"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "run").write_text("#!/bin/sh\n")
    (root / "bin" / "run").chmod(0o700)
    (root / "notes.txt").write_text("n")
    (root / "notes.txt").chmod(0o600)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    (root / "debug.log").write_text("log")
    os.symlink("notes.txt", root / "link")
    entries = tree_entries(str(root), exclude=(".git", "*.log"), prefix="app/")
    got = {e.name: (e.mode, e.linkname, e.is_dir) for e in entries}
    assert got == {
        "app/bin": (0o755, None, True),
        "app/bin/run": (0o755, None, False),
        "app/notes.txt": (0o644, None, False),
        "app/link": (0o777, "notes.txt", False),
    }
    with tarfile.open(fileobj=io.BytesIO(tar_gz(entries))) as tar:
        assert tar.extractfile("app/bin/run").read() == b"#!/bin/sh\n"


def test_tree_entries_refuse_a_special_file(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ArchiveError, match="pipe: is a socket, FIFO or device file"):
        tree_entries(str(tmp_path))


def test_sha256_file(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "_CHUNK", 4)
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    assert sha256_file(str(path)) == hashlib.sha256(b"0123456789").hexdigest()
