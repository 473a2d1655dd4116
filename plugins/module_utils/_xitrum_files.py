# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""File writes for xitrum_package: atomic copies that hash what they copy, and a thread fan-out.

copy_file() stays hand-written because benchmarks/xitrum_package_bench.py measures it well ahead of
shutil.copy2 followed by a sha256 of the copy: the kernel copies (copy_file_range) and the hash reads
the bytes back from the page cache, with one open per side and no stat or xattr calls.

Kept compatible with Python 3.9 (it runs on the managed host).
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import threading

_CHUNK = 1 << 20
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_OPEN_READ = os.O_RDONLY | _O_CLOEXEC
_OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
_CFR_FALLBACK = frozenset(
    getattr(errno, name) for name in ("ENOSYS", "EXDEV", "EINVAL", "EOPNOTSUPP", "ENOTSUP", "EPERM", "ETXTBSY", "EIO")
    if hasattr(errno, name))
_TMP_COUNTER = itertools.count()
_STATE = {"copy_file_range": hasattr(os, "copy_file_range")}
_UTIME_FD = os.utime in os.supports_fd
TMP_SUFFIX = ".xptmp"


def _tmp_path(path):
    head, tail = os.path.split(path)
    return os.path.join(head, ".%s.%d.%d%s" % (tail[:200], os.getpid(), next(_TMP_COUNTER), TMP_SUFFIX))


def open_tmp(path):
    """(temporary path beside path, its fd opened for writing): a new file, mode 0600."""
    while True:
        tmp = _tmp_path(path)
        try:
            return tmp, os.open(tmp, _OPEN_NEW, 0o600)
        except FileExistsError:
            continue


def remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_fd(src, dst, size):
    """Copy src to dst (kernel copy when it can), return the sha256 of what was copied."""
    digest = hashlib.sha256()
    done = 0
    if _STATE["copy_file_range"] and size:
        try:
            while done < size:
                count = os.copy_file_range(src, dst, size - done)
                if not count:
                    break
                done += count
        except OSError as exc:
            if exc.errno not in _CFR_FALLBACK:
                raise
            if exc.errno == getattr(errno, "ENOSYS", None):
                _STATE["copy_file_range"] = False
        pos = 0
        while pos < done:
            block = os.pread(src, min(done - pos, 8 * _CHUNK), pos)
            if not block:
                raise OSError(errno.EIO, "file shrank while it was copied")
            digest.update(block)
            pos += len(block)
    # What the kernel did not copy (no copy_file_range, a file that grew, or a fallback).
    while True:
        block = os.read(src, _CHUNK if done else max(size, 1))
        if not block:
            break
        digest.update(block)
        _write_all(dst, block)
        done += len(block)
    return digest.hexdigest()


def _set_times(fd, path, atime_ns, mtime_ns):
    if _UTIME_FD:
        os.utime(fd, ns=(atime_ns, mtime_ns))
    else:  # pragma: no cover - platforms without futimens
        os.utime(path, ns=(atime_ns, mtime_ns))


def copy_file(src_path, dst_path, size, mode, atime_ns, mtime_ns, atomic=True):
    """Copy one file, keeping mode and times; return its sha256.

    atomic: through a temporary file and os.replace, so that a reader never sees half a file;
    without it the file is created in place (for a new tree that is renamed into place at the end).
    """
    src = os.open(src_path, _OPEN_READ)
    tmp = None
    try:
        if atomic:
            tmp, dst = open_tmp(dst_path)
        else:
            dst = os.open(dst_path, _OPEN_NEW, 0o600)
        try:
            digest = _copy_fd(src, dst, size)
            os.fchmod(dst, mode)
            _set_times(dst, tmp or dst_path, atime_ns, mtime_ns)
        finally:
            os.close(dst)
        if atomic:
            os.replace(tmp, dst_path)
            tmp = None
    finally:
        os.close(src)
        if tmp is not None:
            remove_quietly(tmp)
    return digest


def write_bytes(path, data, mode):
    """Write data to path through a temporary file and os.replace."""
    tmp, fd = open_tmp(path)
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def run_parallel(func, items, workers):
    """Call func(item) for every item, on up to `workers` threads; return the results in item order.

    Threads pay off for many files (the copies and hashes release the GIL); the items are split in
    interleaved slices up front, which costs far less than one future per file.
    """
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    count = min(workers, len(items) // 32)
    if count <= 1:
        return [func(item) for item in items]
    results = [None] * len(items)
    errors = []

    def run(start):
        try:
            for i in range(start, len(items), count):
                if errors:
                    return
                results[i] = func(items[i])
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(start,)) for start in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
