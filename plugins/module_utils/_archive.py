# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reproducible .tar.gz archives: the one writer every packaging module uses.

The same entries always give the same bytes: entries sorted by name (a directory before what it
holds), a fixed mtime, uid/gid 0 and empty owner names, PAX format, and a gzip header without a
file name and with mtime 0. xitrum_package writes its package archive with it, heroku_deploy its
source tarball, and the Beanstalk and App Engine bundles go the same way.

Kept compatible with Python 3.9 (it runs on the managed host).
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import os
import stat
import tarfile
from typing import Callable, NamedTuple, Optional

# 1980-01-01T00:00:00Z, the earliest time a zip (hence a jar) can hold; every entry gets it by default.
ARCHIVE_MTIME = 315532800
ARCHIVE_LEVEL = 6
_CHUNK = 1 << 20


class ArchiveError(Exception):
    """A tree that cannot be packed (a special file, an unreadable entry); the message names the path."""


class Entry(NamedTuple):
    """One archive member.

    name: the path inside the archive, '/'-separated, without a leading './'.
    mode: permission bits (0o755, 0o644, ...).
    size: the byte count of a file (0 for the others).
    opener: for a file, a callable returning a binary file object to read size bytes from; None otherwise.
    linkname: for a symbolic link, its target; None otherwise. An entry with neither opener nor linkname
    is a directory.
    """

    name: str
    mode: int
    size: int = 0
    opener: Optional[Callable[[], io.BufferedIOBase]] = None
    linkname: Optional[str] = None

    @property
    def is_dir(self):
        return self.opener is None and self.linkname is None


def directory(name, mode=0o755):
    """A directory entry."""
    return Entry(name, mode)


def file_from_bytes(name, data, mode=0o644):
    """A file entry whose content is data."""
    return Entry(name, mode, len(data), lambda: io.BytesIO(data))


def file_from_path(name, path, size, mode=0o644):
    """A file entry read from path when the archive is written."""
    return Entry(name, mode, size, lambda: open(path, "rb"))  # pylint: disable=consider-using-with


def symlink(name, target):
    """A symbolic link entry."""
    return Entry(name, 0o777, linkname=target)


class HashingWriter:
    """A write-only file object that hashes (sha256) what goes through it and passes it on to out, if any."""

    def __init__(self, out=None):
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.digest.update(data)
        self.size += len(data)
        if self.out is not None:
            view = memoryview(data)
            while view:
                written = self.out.write(view)
                view = view[written:] if written is not None else view[len(view):]
        return len(data)

    def flush(self):
        if self.out is not None and hasattr(self.out, "flush"):
            self.out.flush()

    def hexdigest(self):
        return self.digest.hexdigest()


def write_tar_gz(fileobj, entries, mtime=ARCHIVE_MTIME, level=ARCHIVE_LEVEL):
    """Write a reproducible .tar.gz of entries to the binary file object fileobj.

    The entries are sorted by name here, so the caller's order does not matter.
    """
    with gzip.GzipFile(filename="", mode="wb", fileobj=fileobj, mtime=0, compresslevel=level) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for entry in sorted(entries, key=lambda e: e.name):
                info = tarfile.TarInfo(entry.name)
                info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
                info.mode = entry.mode
                if entry.linkname is not None:
                    info.type, info.linkname = tarfile.SYMTYPE, entry.linkname
                    tar.addfile(info)
                elif entry.opener is None:
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                else:
                    info.size = entry.size
                    with entry.opener() as handle:
                        tar.addfile(info, handle)


def _excluded(rel, patterns):
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(os.path.basename(rel), p) for p in patterns)


def tree_entries(root, exclude=(), prefix=""):
    """The entries of the directory tree at root, for write_tar_gz.

    Paths matching a glob of exclude (against the relative path or the base name) are left out, with
    everything under them. Modes are normalised: 0o755 for directories and executable files, 0o644
    for other files. Symbolic links are kept as links, not followed. A socket, FIFO or device file
    raises ArchiveError naming it. prefix, when given, is put before every name (without a top entry).
    """
    entries = []
    lead = prefix.rstrip("/") + "/" if prefix else ""
    for top, dirs, files in os.walk(root):
        rel_top = os.path.relpath(top, root)
        rel_top = "" if rel_top == "." else rel_top
        kept = []
        for name in sorted(dirs) + sorted(files):
            rel = os.path.join(rel_top, name)
            if _excluded(rel, exclude):
                continue
            full = os.path.join(top, name)
            try:
                st = os.lstat(full)
            except OSError as exc:
                raise ArchiveError(f"{full}: cannot be read: {exc.strerror or exc}") from None
            arcname = lead + rel.replace(os.sep, "/")
            if stat.S_ISLNK(st.st_mode):
                entries.append(symlink(arcname, os.readlink(full)))
            elif stat.S_ISDIR(st.st_mode):
                kept.append(name)
                entries.append(directory(arcname))
            elif stat.S_ISREG(st.st_mode):
                mode = 0o755 if st.st_mode & 0o111 else 0o644
                entries.append(file_from_path(arcname, full, st.st_size, mode))
            else:
                raise ArchiveError(f"{full}: is a socket, FIFO or device file, which an archive cannot hold")
        dirs[:] = [d for d in dirs if d in kept]
    return entries


def sha256_file(path):
    """The hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
