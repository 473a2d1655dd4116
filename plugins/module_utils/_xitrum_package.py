# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Assemble the deployable directory of a Xitrum-style project (the core of the xitrum_package module).

Plain functions, no AnsibleModule: the module, the unit tests and the benchmark call package().
Every user mistake raises XitrumPackageError with a message naming the option and the rule, and
all of them are found before anything is written.

Kept compatible with Python 3.9 (it runs on the managed host).
"""

from __future__ import annotations

import errno
import glob
import gzip
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
import threading

INDEX_NAME = ".xitrum-package.json"
INDEX_VERSION = 1
# Bumped when the archive layout changes, so that a recorded archive is not trusted any more.
ARCHIVE_FORMAT = 1
# 1980-01-01T00:00:00Z, the earliest time a zip (hence a jar) can hold; every archive entry gets it.
ARCHIVE_MTIME = 315532800
ARCHIVE_LEVEL = 6
LAYOUT = ("config", "lib", "public", "script")
RUNNER = "script/runner"
RUNNER_BAT = "script/runner.bat"
GENERATED_MODES = {RUNNER: 0o755, RUNNER_BAT: 0o644}

# Java reserved words (JLS 3.9) and literals: none may be part of a class name.
JAVA_KEYWORDS = frozenset("""
    abstract assert boolean break byte case catch char class const continue default do double else
    enum extends final finally float for goto if implements import instanceof int interface long
    native new package private protected public return short static strictfp super switch
    synchronized this throw throws transient try void volatile while true false null _
""".split())
_JAVA_NAME = re.compile(r"(?:[^\W\d]|\$)[\w$]*(?:\.(?:[^\W\d]|\$)[\w$]*)*")

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


class XitrumPackageError(Exception):
    """A problem the user can fix; the message says which option and which rule."""


def package(project_dir, main_jar, main_class, dest="target/xitrum", jars=None, classpath_file=None,
            config_dir="config", public_dir="public", copy=None, jvm_options=None, archive=None,
            archive_prefix=None, check_mode=False, diff=False, workers=None):
    """Assemble <dest>/{config,public,lib,script}; return the module result (without 'diff' unless asked).

    Nothing is written in check mode, and nothing is written at all when an input is wrong.
    """
    plan = _Plan(project_dir=project_dir, main_jar=main_jar, main_class=main_class, dest=dest,
                 jars=jars or [], classpath_file=classpath_file, config_dir=config_dir,
                 public_dir=public_dir, copy=copy or [], jvm_options=jvm_options or [],
                 archive=archive, archive_prefix=archive_prefix)
    plan.compare(workers)
    if check_mode:
        plan.hash_pending(workers)
    else:
        plan.apply(workers)
    archive_changed = plan.sync_archive(check_mode)
    if not check_mode:
        plan.write_index()
    return plan.result(archive_changed, diff)


# ---------------------------------------------------------------------------------------------
# Small helpers


def _strerror(exc):
    return exc.strerror or str(exc)


def _inside(path, parent):
    """True when path is parent or below it (both absolute and normalised)."""
    if parent == os.sep:
        return True
    return path == parent or path.startswith(parent + os.sep)


def _real(path):
    return os.path.realpath(path)


def _parents(rel):
    """'a/b/c' -> ['a', 'a/b']."""
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def sh_quote(value):
    """Single-quote a word for POSIX sh, always (even when it is safe bare)."""
    return "'" + value.replace("'", "'\\''") + "'"


def bat_quote(value):
    """Double-quote a word for cmd.exe; the caller has rejected double quotes and line breaks."""
    return '"' + value.replace("%", "%%") + '"'


def validate_main_class(main_class):
    if not isinstance(main_class, str) or not _JAVA_NAME.fullmatch(main_class):
        raise XitrumPackageError(
            "main_class %r is not a valid Java class name: expected dot-separated identifiers such as "
            "com.example.Boot" % (main_class,))
    for part in main_class.split("."):
        if part in JAVA_KEYWORDS:
            raise XitrumPackageError(
                "main_class %r is not a valid Java class name: %r is a reserved word" % (main_class, part))


def validate_jvm_options(options):
    for option in options:
        if not isinstance(option, str) or not option:
            raise XitrumPackageError("jvm_options entries must be non-empty strings, got %r" % (option,))
        for char, name in (('"', "a double quote"), ("\n", "a line break"), ("\r", "a line break"),
                           ("\0", "a NUL character")):
            if char in option:
                raise XitrumPackageError(
                    "jvm_options entry %r contains %s, which cannot be written safely into %s"
                    % (option, name, RUNNER_BAT))


def render_runner(main_class, jvm_options):
    """script/runner: POSIX sh, run from anywhere (also through symlinks)."""
    words = " ".join(sh_quote(o) for o in jvm_options)
    command = 'exec "$JAVA" %s$JAVA_OPTS -cp \'lib/*:config\' %s "$@"' % (
        words + " " if words else "", sh_quote(main_class))
    lines = [
        "#!/bin/sh",
        "# Generated by jvmops.deploy.xitrum_package: edits are overwritten by the next run.",
        "# Starts %s from the package root with lib/* and config/ on the classpath." % main_class,
        "# The JVM is $JAVA_HOME/bin/java when JAVA_HOME is set, else java from PATH; JAVA_OPTS",
        "# comes after the default options, so it can override them.",
        "",
        "# Find the package root, following symbolic links to this script (readlink -f is not POSIX).",
        'self=$0',
        'while [ -h "$self" ]; do',
        '  # shellcheck disable=SC2012 # ls is the POSIX fallback for readlink',
        '  link=$(readlink -- "$self" 2>/dev/null) || link=$(ls -ld -- "$self" | sed \'s/.* -> //\')',
        '  case $link in',
        '    /*) self=$link ;;',
        '    *) self=$(dirname -- "$self")/$link ;;',
        '  esac',
        'done',
        'cd -P -- "$(dirname -- "$self")/.." || exit 1',
        "",
        'if [ -n "${JAVA_HOME:-}" ]; then',
        '  JAVA=$JAVA_HOME/bin/java',
        'else',
        '  JAVA=java',
        'fi',
        "",
        "# Xitrum's runner takes the main class as its first argument (script/runner quickstart.Boot,",
        "# also in Procfiles): accept that form too.",
        'if [ "${1:-}" = %s ]; then shift; fi' % sh_quote(main_class),
        "",
        "# JAVA_OPTS is split into words but never glob-expanded.",
        "set -f",
        "# shellcheck disable=SC2086 # word splitting of JAVA_OPTS is wanted",
        command,
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_runner_bat(main_class, jvm_options):
    """script/runner.bat: the Windows equivalent, CRLF line endings."""
    words = " ".join(bat_quote(o) for o in jvm_options)
    lines = [
        "@echo off",
        "rem Generated by jvmops.deploy.xitrum_package: edits are overwritten by the next run.",
        "rem Starts %s from the package root with lib\\* and config on the classpath." % main_class,
        "rem The JVM is JAVA_HOME\\bin\\java when JAVA_HOME is set, else java from PATH; JAVA_OPTS",
        "rem comes after the default options, so it can override them.",
        "setlocal DisableDelayedExpansion",
        'cd /d "%~dp0.."',
        'set "JAVA=java"',
        'if defined JAVA_HOME set "JAVA=%JAVA_HOME%\\bin\\java"',
        '"%%JAVA%%" %s%%JAVA_OPTS%% -cp "lib\\*;config" %s %%*' % (words + " " if words else "", main_class),
        "exit /b %ERRORLEVEL%",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _indexed_hash(index, rel, size, mtime_ns):
    """The hash the index recorded for a dest file, if the file still has that size and mtime."""
    known = index.get(rel)
    if known.__class__ is list and len(known) == 3 and known[0] == size and known[1] == mtime_ns:
        return known[2]
    return None


def _hash_path(path):
    digest = hashlib.sha256()
    fd = os.open(path, _OPEN_READ)
    try:
        while True:
            block = os.read(fd, _CHUNK)
            if not block:
                break
            digest.update(block)
    finally:
        os.close(fd)
    return digest.hexdigest()


def _tmp_path(path):
    head, tail = os.path.split(path)
    return os.path.join(head, ".%s.%d.%d.xptmp" % (tail[:200], os.getpid(), next(_TMP_COUNTER)))


def _open_tmp(path):
    while True:
        tmp = _tmp_path(path)
        try:
            return tmp, os.open(tmp, _OPEN_NEW, 0o600)
        except FileExistsError:
            continue


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
            tmp, dst = _open_tmp(dst_path)
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
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return digest


def write_bytes(path, data, mode):
    """Write data to path through a temporary file and os.replace."""
    tmp, fd = _open_tmp(path)
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _run_parallel(func, items, workers):
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


class _HashSink:
    """A write-only file object that hashes what goes through it and optionally writes it to fd."""

    def __init__(self, fd=None):
        self.fd = fd
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.digest.update(data)
        self.size += len(data)
        if self.fd is not None:
            _write_all(self.fd, data)
        return len(data)

    def flush(self):
        pass


def write_archive(sink, prefix, entries):
    """Write a reproducible .tar.gz of entries to sink.

    entries: (rel, mode, size, opener) sorted by path, opener None for a directory. Every entry gets
    ARCHIVE_MTIME, uid/gid 0 and empty owner names; the gzip header carries no name and mtime 0.
    """
    with gzip.GzipFile(filename="", mode="wb", fileobj=sink, mtime=0, compresslevel=ARCHIVE_LEVEL) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            top = tarfile.TarInfo(prefix)
            top.type, top.mode, top.mtime = tarfile.DIRTYPE, 0o755, ARCHIVE_MTIME
            tar.addfile(top)
            for rel, mode, size, opener in entries:
                info = tarfile.TarInfo(prefix + "/" + rel)
                info.mtime, info.uid, info.gid, info.uname, info.gname = ARCHIVE_MTIME, 0, 0, "", ""
                if opener is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                else:
                    info.mode, info.size = mode, size
                    with opener() as fileobj:
                        tar.addfile(info, fileobj)


class _BytesOpener:
    def __init__(self, data):
        self.data = data

    def __call__(self):
        return io.BytesIO(self.data)


class _PathOpener:
    def __init__(self, path):
        self.path = path

    def __call__(self):
        return open(self.path, "rb")  # pylint: disable=consider-using-with


# ---------------------------------------------------------------------------------------------
# The plan: validate, collect, compare; then apply


class _Plan:
    # pylint: disable=too-many-instance-attributes

    def __init__(self, project_dir, main_jar, main_class, dest, jars, classpath_file, config_dir,
                 public_dir, copy, jvm_options, archive, archive_prefix):
        # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-locals
        self.project = self._project_dir(project_dir)
        self.project_real = _real(self.project)
        self.dest = self._abs(dest)
        self.dest_real = _real(self.dest)
        self._check_dest()

        validate_main_class(main_class)
        validate_jvm_options(jvm_options)
        self.generated = {
            RUNNER: render_runner(main_class, jvm_options),
            RUNNER_BAT: render_runner_bat(main_class, jvm_options),
        }

        # rel -> (path, size, mtime_ns, atime_ns, mode, origin, dev, ino)
        self.files = {}
        self.dirs = set(LAYOUT)
        self.copy_tops = set()
        self._source_dirs = []  # (option label, absolute path, real path): dest must not be inside
        self._collect_lib(main_jar, jars, classpath_file)
        self._collect_dir(config_dir, "config", "config_dir")
        self._collect_dir(public_dir, "public", "public_dir")
        for entry in copy:
            self._collect_copy(entry)
        for rel in self.generated:
            if rel in self.files:
                raise XitrumPackageError(
                    "%s would bring %s (%s), but the module generates that file; remove it from the "
                    "project or from the option" % (self.files[rel][5], rel, self.files[rel][0]))
        for rel in list(self.files) + list(self.generated):
            if rel in self.dirs:
                raise XitrumPackageError(
                    "%s would be both a file (%s) and a directory in dest"
                    % (rel, self.files.get(rel, (RUNNER,))[0]))
            if rel == INDEX_NAME:
                raise XitrumPackageError(
                    "%s would bring %s, a name the module keeps for its own index in dest"
                    % (self.files[rel][5], INDEX_NAME))

        self.archive, self.archive_prefix = self._archive(archive, archive_prefix)

        self.index = {}
        self.old_archive = None
        self.dest_files, self.dest_dirs, self.dest_others = {}, set(), {}
        self.hashes = {}
        self.added, self.changed, self.removed = [], [], []
        self.to_copy, self.to_meta = [], []
        self.unlink, self.rmdir, self.mkdir = [], [], []
        self.write_generated = []
        self.checksum = None
        self.archive_checksum = None
        self.archive_existed = False
        self.new_archive = None

    # -- validation of the scalar options ------------------------------------------------------

    @staticmethod
    def _project_dir(project_dir):
        if not project_dir:
            raise XitrumPackageError("project_dir is required")
        path = os.path.abspath(os.path.expanduser(project_dir))
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise XitrumPackageError("project_dir '%s' does not exist" % path) from None
        except OSError as exc:
            raise XitrumPackageError("project_dir '%s' cannot be read: %s" % (path, _strerror(exc))) from None
        if not stat.S_ISDIR(st.st_mode):
            raise XitrumPackageError("project_dir '%s' is not a directory" % path)
        if not os.access(path, os.R_OK | os.X_OK):
            raise XitrumPackageError("project_dir '%s' is not readable" % path)
        return path

    def _abs(self, path):
        """An option's path, relative to project_dir unless absolute."""
        return os.path.normpath(os.path.join(self.project, os.path.expanduser(path)))

    def _check_dest(self):
        if self.dest_real == os.sep or self.dest == os.sep:
            raise XitrumPackageError("dest must not be '/'")
        if self.dest_real == self.project_real:
            raise XitrumPackageError("dest '%s' must not be project_dir itself" % self.dest)
        if _inside(self.project_real, self.dest_real):
            raise XitrumPackageError(
                "dest '%s' must not contain project_dir '%s': stale files in dest are removed"
                % (self.dest, self.project))
        if os.path.lexists(self.dest) and not os.path.isdir(self.dest):
            raise XitrumPackageError("dest '%s' exists and is not a directory" % self.dest)

    def _check_source(self, label, path):
        """A source must not be inside dest, and dest must not be inside a source directory."""
        real = _real(path)
        if _inside(real, self.dest_real):
            raise XitrumPackageError("%s '%s' must not be inside dest '%s'" % (label, path, self.dest))
        return real

    def _source_dir(self, label, path):
        real = self._check_source(label, path)
        if _inside(self.dest_real, real):
            raise XitrumPackageError("dest '%s' must not be inside %s '%s'" % (self.dest, label, path))
        self._source_dirs.append((label, path, real))

    def _archive(self, archive, prefix):
        if not archive:
            if prefix is not None:
                raise XitrumPackageError("archive_prefix is only used with archive")
            return None, None
        path = self._abs(archive)
        real = _real(path)
        if _inside(real, self.dest_real):
            raise XitrumPackageError("archive '%s' must not be inside dest '%s'" % (path, self.dest))
        for label, src, src_real in self._source_dirs:
            if _inside(real, src_real):
                raise XitrumPackageError("archive '%s' must not be inside %s '%s'" % (path, label, src))
        if os.path.isdir(path):
            raise XitrumPackageError("archive '%s' is a directory; give the path of the .tar.gz file" % path)
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is not None:
            for src in self.files.values():
                if src[6] == st.st_dev and src[7] == st.st_ino:
                    raise XitrumPackageError("archive '%s' must not be a file of the package (from %s)"
                                             % (path, src[5]))
        if prefix is None:
            prefix = os.path.basename(self.dest)
        if not prefix or "/" in prefix or prefix in (".", "..") or "\0" in prefix:
            raise XitrumPackageError(
                "archive_prefix %r must be a single directory name (no '/', not '.' or '..')" % (prefix,))
        return path, prefix

    # -- collecting the sources ----------------------------------------------------------------

    def _add(self, rel, path, st, origin):
        prev = self.files.get(rel)
        if prev is None:
            self.files[rel] = (path, st.st_size, st.st_mtime_ns, st.st_atime_ns, st.st_mode, origin,
                               st.st_dev, st.st_ino)
        elif prev[6] != st.st_dev or prev[7] != st.st_ino:
            raise XitrumPackageError(
                "two different files would be copied to %s: %s (from %s) and %s (from %s)"
                % (rel, prev[0], prev[5], path, origin))

    def _stat_file(self, label, path, shown):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if os.path.islink(path):
                raise XitrumPackageError("%s '%s' is a broken symbolic link" % (label, shown)) from None
            raise XitrumPackageError("%s '%s' does not exist (looked for %s)" % (label, shown, path)) from None
        except OSError as exc:
            raise XitrumPackageError("%s '%s' cannot be read: %s" % (label, shown, _strerror(exc))) from None
        return st

    def _collect_lib(self, main_jar, jars, classpath_file):
        if not main_jar:
            raise XitrumPackageError("main_jar is required")
        path = self._abs(main_jar)
        st = self._stat_file("main_jar", path, main_jar)
        if not stat.S_ISREG(st.st_mode):
            raise XitrumPackageError("main_jar '%s' is not a regular file (%s)" % (main_jar, path))
        self._check_source("main_jar", path)
        self._add("lib/" + os.path.basename(path), path, st, "main_jar")

        dest_prefixes = (self.dest + os.sep, self.dest_real + os.sep)
        for pattern in jars:
            if not isinstance(pattern, str) or not pattern:
                raise XitrumPackageError("jars entries must be non-empty glob patterns, got %r" % (pattern,))
            expanded = os.path.expanduser(pattern)
            if not os.path.isabs(expanded):
                expanded = os.path.join(glob.escape(self.project), expanded)
            origin = "jars pattern '%s'" % pattern
            found = 0
            for match in sorted(glob.glob(expanded, recursive=True)):
                match = os.path.normpath(match)
                # An earlier package's own lib/ must not feed the next one (target/**/*.jar).
                if match.startswith(dest_prefixes):
                    continue
                try:
                    st = os.stat(match)
                except OSError as exc:
                    raise XitrumPackageError("%s: cannot read '%s': %s" % (origin, match, _strerror(exc))) from None
                if stat.S_ISDIR(st.st_mode):
                    continue
                if not stat.S_ISREG(st.st_mode):
                    raise XitrumPackageError("%s: '%s' is not a regular file" % (origin, match))
                self._add("lib/" + os.path.basename(match), match, st, origin)
                found += 1
            if not found:
                raise XitrumPackageError("jars pattern '%s' matches no file (relative to %s)" % (pattern, self.project))

        if classpath_file:
            self._collect_classpath(classpath_file)

    def _collect_classpath(self, classpath_file):
        path = self._abs(classpath_file)
        self._check_source("classpath_file", path)
        origin = "classpath_file '%s'" % classpath_file
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise XitrumPackageError("classpath_file '%s' does not exist (looked for %s)"
                                     % (classpath_file, path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise XitrumPackageError("classpath_file '%s' cannot be read: %s"
                                     % (classpath_file, getattr(exc, "strerror", None) or exc)) from None
        for entry in re.split(r"[:\r\n]+", text):
            entry = entry.strip()
            if not entry:
                continue
            jar = self._abs(entry)
            try:
                st = os.stat(jar)
            except FileNotFoundError:
                raise XitrumPackageError("%s lists '%s', which does not exist" % (origin, entry)) from None
            except OSError as exc:
                raise XitrumPackageError("%s lists '%s', which cannot be read: %s"
                                         % (origin, entry, _strerror(exc))) from None
            if stat.S_ISDIR(st.st_mode):
                continue  # a classes directory (the project's own, or a dependency's)
            if not stat.S_ISREG(st.st_mode):
                raise XitrumPackageError("%s lists '%s', which is not a regular file" % (origin, entry))
            self._check_source(origin + " entry", jar)
            self._add("lib/" + os.path.basename(jar), jar, st, origin)

    def _collect_dir(self, option, rel, label):
        if option is None:
            return
        path = self._abs(option)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if option == rel:  # the default: a project without config/ or public/ is fine
                return
            raise XitrumPackageError("%s '%s' does not exist (looked for %s)" % (label, option, path)) from None
        except OSError as exc:
            raise XitrumPackageError("%s '%s' cannot be read: %s" % (label, option, _strerror(exc))) from None
        if not stat.S_ISDIR(st.st_mode):
            raise XitrumPackageError("%s '%s' is not a directory" % (label, option))
        if not os.access(path, os.R_OK | os.X_OK):
            raise XitrumPackageError("%s '%s' is not readable" % (label, option))
        self._source_dir(label, path)
        self._walk(path, rel, label)

    def _collect_copy(self, entry):
        if not isinstance(entry, str) or not entry:
            raise XitrumPackageError("copy entries must be non-empty relative paths, got %r" % (entry,))
        if os.path.isabs(entry) or entry.startswith("~"):
            raise XitrumPackageError("copy entry '%s' must be a path relative to project_dir, not absolute" % entry)
        rel = os.path.normpath(entry).replace(os.sep, "/")
        if rel == "." or rel == ".." or rel.startswith("../"):
            raise XitrumPackageError(
                "copy entry '%s' must name a file or directory inside project_dir, not the project itself or "
                "a path outside it" % entry)
        label = "copy entry '%s'" % entry
        path = os.path.join(self.project, rel)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise XitrumPackageError("%s does not exist in project_dir (looked for %s)" % (label, path)) from None
        except OSError as exc:
            raise XitrumPackageError("%s cannot be read: %s" % (label, _strerror(exc))) from None
        self.copy_tops.add(rel.split("/")[0])
        self.dirs.update(_parents(rel))
        if stat.S_ISDIR(st.st_mode):
            if not os.access(path, os.R_OK | os.X_OK):
                raise XitrumPackageError("%s is not readable" % label)
            self._source_dir(label, path)
            self.dirs.add(rel)
            self._walk(path, rel, label)
        elif stat.S_ISREG(st.st_mode):
            self._check_source(label, path)
            self._add(rel, path, st, label)
        else:
            raise XitrumPackageError("%s is neither a regular file nor a directory" % label)

    def _walk(self, root, rel_root, origin):
        """Add every file below root (following symbolic links, refusing loops) as rel_root/..."""
        add, dirs = self._add, self.dirs
        stack = [(root, rel_root)]
        while stack:
            path, rel = stack.pop()
            current = None
            try:
                with os.scandir(path) as entries:
                    for entry in entries:
                        child = rel + "/" + entry.name
                        if entry.is_dir():
                            if entry.is_symlink():
                                current = current or _real(path)
                                target = _real(entry.path)
                                if _inside(current, target):
                                    raise XitrumPackageError(
                                        "%s: symbolic link loop at %s (points to %s)" % (origin, entry.path, target))
                            dirs.add(child)
                            stack.append((entry.path, child))
                            continue
                        try:
                            st = entry.stat()
                        except FileNotFoundError:
                            raise XitrumPackageError(
                                "%s: %s is a broken symbolic link" % (origin, entry.path)) from None
                        if not stat.S_ISREG(st.st_mode):
                            raise XitrumPackageError(
                                "%s: %s is not a regular file or directory" % (origin, entry.path))
                        add(child, entry.path, st, origin)
            except OSError as exc:
                raise XitrumPackageError(
                    "%s: cannot read %s: %s" % (origin, exc.filename or path, _strerror(exc))) from None

    # -- the current state of dest -------------------------------------------------------------

    def _scan_dest(self):
        files, dirs, others = self.dest_files, self.dest_dirs, self.dest_others
        stack = [(self.dest, "")]
        try:
            while stack:
                path, rel = stack.pop()
                with os.scandir(path) as entries:
                    for entry in entries:
                        child = rel + entry.name
                        if entry.is_dir(follow_symlinks=False):
                            dirs.add(child)
                            stack.append((entry.path, child + "/"))
                        elif entry.is_file(follow_symlinks=False):
                            if child == INDEX_NAME:
                                continue
                            st = entry.stat(follow_symlinks=False)
                            files[child] = (st.st_size, st.st_mtime_ns, st.st_mode)
                        else:
                            others[child] = entry.path
        except OSError as exc:
            raise XitrumPackageError("cannot read dest '%s': %s: %s"
                                     % (self.dest, exc.filename or path, _strerror(exc))) from None

    def _load_index(self):
        try:
            with open(os.path.join(self.dest, INDEX_NAME), encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return False
        except (OSError, ValueError):
            return True  # there, but unusable: treated as empty, rewritten at the end
        if isinstance(data, dict) and data.get("version") == INDEX_VERSION:
            files = data.get("files")
            if isinstance(files, dict):
                self.index = files
            if isinstance(data.get("archive"), dict):
                self.old_archive = data["archive"]
        return True

    def _check_foreign(self):
        """Refuse a non-empty dest the module did not write, rather than delete someone's files."""
        allowed = set(LAYOUT) | self.copy_tops
        tops = {rel.split("/")[0] for rel in itertools.chain(self.dest_files, self.dest_dirs, self.dest_others)}
        foreign = sorted(tops - allowed)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise XitrumPackageError(
                "dest '%s' already holds files this module did not write (%s, and no %s); empty it or "
                "choose another dest, since stale files in dest are removed" % (self.dest, shown, INDEX_NAME))

    # -- compare -------------------------------------------------------------------------------

    def compare(self, workers):
        # pylint: disable=too-many-branches,too-many-locals,too-many-statements
        if os.path.isdir(self.dest):
            had_index = self._load_index()
            self._scan_dest()
            if not had_index:
                self._check_foreign()

        dest_files, dest_dirs, dest_others, index = self.dest_files, self.dest_dirs, self.dest_others, self.index
        hashes, added, changed = self.hashes, self.added, self.changed
        to_copy, to_meta, need_dest_hash, compare_content = self.to_copy, self.to_meta, [], []
        for rel, src in self.files.items():
            cur = dest_files.get(rel)
            if cur is None:
                (changed if rel in dest_others else added).append(rel)
                to_copy.append(rel)
                continue
            size = src[1]
            if cur[0] == size and cur[1] == src[2]:
                if (cur[2] ^ src[4]) & 0o7777:
                    changed.append(rel)
                    to_meta.append(rel)
                known = _indexed_hash(index, rel, size, cur[1])
                if known:
                    hashes[rel] = known
                else:
                    need_dest_hash.append(rel)
            elif cur[0] == size:
                compare_content.append(rel)
            else:
                changed.append(rel)
                to_copy.append(rel)

        # Same size, other mtime: the content decides (a touched source is not a change).
        if compare_content:
            dest = self.dest
            files = self.files

            def both(rel):
                cur = dest_files[rel]
                old = _indexed_hash(index, rel, cur[0], cur[1]) or _hash_path(os.path.join(dest, rel))
                return _hash_path(files[rel][0]), old

            for rel, (new, old) in zip(compare_content, self._read(both, compare_content, workers)):
                if new == old:
                    hashes[rel] = new
                    to_meta.append(rel)
                    if (dest_files[rel][2] ^ self.files[rel][4]) & 0o7777:
                        changed.append(rel)
                else:
                    changed.append(rel)
                    to_copy.append(rel)
        if need_dest_hash:
            dest = self.dest
            paths = [os.path.join(dest, rel) for rel in need_dest_hash]
            hashes.update(zip(need_dest_hash, self._read(_hash_path, paths, workers)))

        for rel, data in self.generated.items():
            hashes[rel] = hashlib.sha256(data).hexdigest()
            cur = dest_files.get(rel)
            if cur is None:
                (changed if rel in dest_others else added).append(rel)
                self.write_generated.append(rel)
            elif cur[0] != len(data) or self._read_dest(rel) != data:
                changed.append(rel)
                self.write_generated.append(rel)
            elif cur[2] & 0o7777 != GENERATED_MODES[rel]:
                changed.append(rel)
                self.write_generated.append(rel)

        # Files readable? Checked now for the ones to copy, so that a bad one stops us before writing
        # (root reads everything, so the check is skipped there).
        if os.geteuid() != 0:
            for rel in to_copy:
                path = self.files[rel][0]
                if not os.access(path, os.R_OK):
                    raise XitrumPackageError("%s: cannot read %s: permission denied" % (self.files[rel][5], path))

        wanted_files = self.files.keys() | self.generated.keys()
        dirs = self.dirs
        for rel in dest_files:
            if rel not in wanted_files:
                self.removed.append(rel)
                self.unlink.append(rel)
        for rel in dest_others:
            self.unlink.append(rel)
            if rel not in wanted_files:
                self.removed.append(rel)
        stale_dirs = [rel for rel in dest_dirs if rel not in dirs]
        self.removed.extend(rel + "/" for rel in stale_dirs)
        self.rmdir = sorted(stale_dirs, key=lambda r: r.count("/"), reverse=True)
        self.mkdir = sorted((rel for rel in dirs if rel not in dest_dirs), key=lambda r: r.split("/"))
        added.extend(rel + "/" for rel in self.mkdir)
        added.sort()
        changed.sort()
        self.removed.sort()

    @staticmethod
    def _read(func, items, workers):
        try:
            return _run_parallel(func, items, workers)
        except OSError as exc:
            raise XitrumPackageError("cannot read %s: %s" % (exc.filename, _strerror(exc))) from None

    def _read_dest(self, rel):
        try:
            with open(os.path.join(self.dest, rel), "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise XitrumPackageError("cannot read %s: %s" % (exc.filename, _strerror(exc))) from None

    # -- apply ---------------------------------------------------------------------------------

    def hash_pending(self, workers):
        """Check mode: hash the sources that would be copied, for the predicted checksums."""
        if self.to_copy:
            paths = [self.files[rel][0] for rel in self.to_copy]
            self.hashes.update(zip(self.to_copy, self._read(_hash_path, paths, workers)))

    def apply(self, workers):
        """Write the changes. A new dest is built beside it and renamed into place when complete."""
        build = None
        step = "create %s" % self.dest
        try:
            if not os.path.isdir(self.dest):
                parent, name = os.path.split(self.dest)
                if not os.path.isdir(parent):
                    os.makedirs(parent)
                build = tempfile.mkdtemp(prefix=".%s." % name[:200], suffix=".xptmp", dir=parent)
                umask = os.umask(0o022)
                os.umask(umask)
                os.chmod(build, 0o777 & ~umask)
            self._apply(build or self.dest, build is None, workers)
            if build is not None:
                step = "rename %s to %s" % (build, self.dest)
                os.rename(build, self.dest)
                build = None
        except OSError as exc:
            raise XitrumPackageError("Failed to %s: %s" % (step, _strerror(exc))) from None
        finally:
            if build is not None:
                shutil.rmtree(build, ignore_errors=True)

    def _apply(self, dest, atomic, workers):
        files = self.files
        step = "write %s" % dest
        try:
            for rel in self.unlink:
                step = "remove %s" % rel
                os.unlink(os.path.join(dest, rel))
            for rel in self.rmdir:
                step = "remove %s/" % rel
                os.rmdir(os.path.join(dest, rel))
            for rel in self.mkdir:
                step = "create %s/" % rel
                os.mkdir(os.path.join(dest, rel), 0o755)
            for rel in self.to_meta:
                step = "update %s" % rel
                src = files[rel]
                path = os.path.join(dest, rel)
                os.chmod(path, src[4] & 0o7777)
                os.utime(path, ns=(src[3], src[2]))
            for rel in self.write_generated:
                step = "write %s" % rel
                write_bytes(os.path.join(dest, rel), self.generated[rel], GENERATED_MODES[rel])
            step = "copy files into %s" % dest

            def one(rel):
                src = files[rel]
                try:
                    return copy_file(src[0], os.path.join(dest, rel), src[1], src[4] & 0o7777, src[3], src[2],
                                     atomic)
                except OSError as exc:
                    raise XitrumPackageError("Failed to copy %s to %s: %s" % (
                        src[0], os.path.join(dest, rel), _strerror(exc))) from None

            self.hashes.update(zip(self.to_copy, _run_parallel(one, self.to_copy, workers)))
        except OSError as exc:
            raise XitrumPackageError("Failed to %s: %s" % (step, _strerror(exc))) from None

    # -- checksums, archive, index -------------------------------------------------------------

    def _entries(self):
        """(rel, mode, sha256) of the package sorted by path (a directory before its contents), with
        None as the sha256 of a directory."""
        hashes = self.hashes
        items = [(rel, src[4] & 0o7777, hashes[rel]) for rel, src in self.files.items()]
        items.extend((rel, GENERATED_MODES[rel], hashes[rel]) for rel in self.generated)
        items.extend((rel, 0o755, None) for rel in self.dirs)
        items.sort(key=lambda item: item[0])
        return items

    def package_checksum(self):
        """sha256 over 'path NUL mode NUL sha256' lines (and 'path/ NUL dir' for directories)."""
        lines = ["%s/\0dir\n" % rel if sha is None else "%s\0%04o\0%s\n" % (rel, mode, sha)
                 for rel, mode, sha in self._entries()]
        return hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape")).hexdigest()

    def sync_archive(self, check_mode):
        """Write the archive unless an identical one is there; return whether it changed."""
        self.checksum = self.package_checksum()
        self.archive_checksum = None
        self.new_archive = None
        if not self.archive:
            return False
        self.archive_existed = os.path.lexists(self.archive)
        record = {"path": self.archive, "prefix": self.archive_prefix, "format": ARCHIVE_FORMAT,
                  "package_checksum": self.checksum}
        old = self.old_archive or {}
        try:
            st = os.stat(self.archive)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise XitrumPackageError("archive '%s' cannot be read: %s" % (self.archive, _strerror(exc))) from None
        if st is not None and all(old.get(k) == v for k, v in record.items()) \
                and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
            self.archive_checksum = old.get("sha256")
            self.new_archive = old
            return False

        entries = []
        for rel, mode, sha in self._entries():
            if sha is None:
                entries.append((rel, mode, 0, None))
            elif rel in self.generated:
                data = self.generated[rel]
                entries.append((rel, mode, len(data), _BytesOpener(data)))
            else:
                src = self.files[rel]
                path = src[0] if check_mode else os.path.join(self.dest, rel)
                entries.append((rel, mode, src[1], _PathOpener(path)))
        try:
            old_sha = _hash_path(self.archive) if st is not None else None
        except OSError as exc:
            raise XitrumPackageError("archive '%s' cannot be read: %s" % (self.archive, _strerror(exc))) from None

        if check_mode:
            sink = _HashSink()
            self._archive_write(sink, entries)
            self.archive_checksum = sink.digest.hexdigest()
            return self.archive_checksum != old_sha

        parent = os.path.dirname(self.archive)
        try:
            if not os.path.isdir(parent):
                os.makedirs(parent)
            tmp, fd = _open_tmp(self.archive)
        except OSError as exc:
            raise XitrumPackageError("Failed to create archive '%s': %s" % (self.archive, _strerror(exc))) from None
        try:
            try:
                sink = _HashSink(fd)
                self._archive_write(sink, entries)
                os.fchmod(fd, 0o644)
            finally:
                os.close(fd)
            self.archive_checksum = sink.digest.hexdigest()
            changed = self.archive_checksum != old_sha
            if changed:
                os.replace(tmp, self.archive)
                tmp = None
        except OSError as exc:
            raise XitrumPackageError("Failed to write archive '%s': %s" % (self.archive, _strerror(exc))) from None
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        st = os.stat(self.archive)
        self.new_archive = dict(record, sha256=self.archive_checksum, size=st.st_size, mtime_ns=st.st_mtime_ns)
        return changed

    def _archive_write(self, sink, entries):
        try:
            write_archive(sink, self.archive_prefix, entries)
        except OSError as exc:
            raise XitrumPackageError("Failed to write archive '%s': %s: %s"
                                     % (self.archive, exc.filename or "", _strerror(exc))) from None

    def write_index(self):
        files = {rel: [src[1], src[2], self.hashes[rel]] for rel, src in self.files.items()}
        index = {"version": INDEX_VERSION, "files": files}
        archive = self.new_archive or (self.old_archive if not self.archive else None)
        if archive:
            index["archive"] = archive
        old = {"version": INDEX_VERSION, "files": self.index}
        if self.old_archive:
            old["archive"] = self.old_archive
        path = os.path.join(self.dest, INDEX_NAME)
        if index == old and os.path.isfile(path):
            return
        data = json.dumps(index, sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogateescape")
        try:
            write_bytes(path, data, 0o644)
        except OSError as exc:
            raise XitrumPackageError("Failed to write %s: %s" % (path, _strerror(exc))) from None

    # -- result --------------------------------------------------------------------------------

    def result(self, archive_changed, want_diff):
        result = {
            "changed": bool(self.added or self.changed or self.removed or archive_changed),
            "dest": self.dest,
            "files": len(self.files) + len(self.generated),
            "added": self.added,
            "changed_files": self.changed,
            "removed": self.removed,
            "archive": self.archive,
            "archive_checksum": self.archive_checksum,
            "package_checksum": self.checksum,
        }
        if want_diff:
            lines = ["+ %s" % rel for rel in self.added]
            lines.extend("~ %s" % rel for rel in self.changed)
            lines.extend("- %s" % rel for rel in self.removed)
            lines.sort(key=lambda line: (line[2:], line[0]))
            if archive_changed:
                lines.append("%s archive %s" % ("~" if self.archive_existed else "+", self.archive))
            summary = "%s: %d added, %d changed, %d removed; %d files in the package" % (
                self.dest, len(self.added), len(self.changed), len(self.removed), result["files"])
            result["diff"] = {"prepared": "\n".join(lines + [summary]) + "\n"}
        return result
