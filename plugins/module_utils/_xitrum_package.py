# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Assemble the deployable directory of a Xitrum-style project (the core of the xitrum_package module).

Plain functions, no AnsibleModule: the module, the unit tests and the benchmark call package().
Every user mistake raises XitrumPackageError with a message naming the option and the rule, and
all of them are found before anything is written.

package() goes in four steps, each its own piece below:
1. _Sources: check the options and collect the files of the package (nothing is read but stats);
2. _DestState: what dest holds now, and the index of content hashes the last run left there;
3. _Changes: compare the two, then write the differences (or, in check mode, only predict them);
4. the checksums, the archive (written by module_utils/_archive.py) and the index.
The start scripts come from module_utils/_xitrum_runner.py, the file writes from _xitrum_files.py.

Kept compatible with Python 3.9 (it runs on the managed host).
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import json
import os
import re
import shutil
import stat
import tempfile
from typing import NamedTuple, Optional

from ansible_collections.jvmops.deploy.plugins.module_utils._archive import (
    HashingWriter,
    directory,
    file_from_bytes,
    file_from_path,
    sha256_file,
    write_tar_gz,
)
from ansible_collections.jvmops.deploy.plugins.module_utils._xitrum_files import (
    TMP_SUFFIX,
    copy_file,
    open_tmp,
    remove_quietly,
    run_parallel,
    write_bytes,
)
from ansible_collections.jvmops.deploy.plugins.module_utils._xitrum_runner import (
    RUNNER,
    SCRIPT_MODES,
    RunnerOptionError,
    render_scripts,
)

INDEX_NAME = ".xitrum-package.json"
INDEX_VERSION = 1
# Bumped when the archive layout changes, so that a recorded archive is not trusted any more.
ARCHIVE_FORMAT = 1
LAYOUT = ("config", "lib", "public", "script")


class XitrumPackageError(Exception):
    """A problem the user can fix; the message says which option and which rule."""


def package(project_dir, main_jar, main_class, dest="target/xitrum", jars=None, classpath_file=None,
            config_dir="config", public_dir="public", copy=None, jvm_options=None, archive=None,
            archive_prefix=None, check_mode=False, diff=False, workers=None, script_dir="script"):
    """Assemble <dest>/{config,public,lib,script}; return the module result (without 'diff' unless asked).

    Nothing is written in check mode, and nothing is written at all when an input is wrong.
    """
    sources = _Sources(project_dir=project_dir, main_jar=main_jar, main_class=main_class, dest=dest,
                       jars=jars or [], classpath_file=classpath_file, config_dir=config_dir,
                       public_dir=public_dir, script_dir=script_dir, copy=copy or [],
                       jvm_options=jvm_options or [], archive=archive, archive_prefix=archive_prefix)
    state = _DestState.read(sources)
    changes = _Changes(sources, state)
    changes.compare(workers)
    if check_mode:
        changes.hash_pending(workers)
    else:
        changes.apply(workers)
    items = _package_items(sources, changes.hashes)
    checksum = _package_checksum(items)
    archived = _sync_archive(sources, state.old_archive, items, checksum, check_mode)
    if not check_mode:
        _write_index(sources, state, changes.hashes, archived.record)
    return _result(sources, changes, checksum, archived, diff)


class Source(NamedTuple):
    """A file of the package as found in the project (from os.stat, symbolic links followed)."""

    path: str
    size: int
    mtime_ns: int
    atime_ns: int
    mode: int
    origin: str  # the option that brings it, for messages: "main_jar", "jars pattern 'x'", ...
    dev: int
    ino: int

    @property
    def perms(self):
        return self.mode & 0o7777


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


def _read(func, items, workers):
    """run_parallel for reads: an OSError becomes the user's 'cannot read' error."""
    try:
        return run_parallel(func, items, workers)
    except OSError as exc:
        raise XitrumPackageError("cannot read %s: %s" % (exc.filename, _strerror(exc))) from None


def _indexed_hash(index, rel, size, mtime_ns):
    """The hash the index recorded for a dest file, if the file still has that size and mtime."""
    known = index.get(rel)
    if known.__class__ is list and len(known) == 3 and known[0] == size and known[1] == mtime_ns:
        return known[2]
    return None


# ---------------------------------------------------------------------------------------------
# 1. The options checked and the sources collected


class _Sources:
    """What the package must hold: files (rel -> Source), dirs, the generated scripts, and where the
    package and its archive go. Every option is checked here, before anything is written."""

    # pylint: disable=too-many-instance-attributes

    def __init__(self, project_dir, main_jar, main_class, dest, jars, classpath_file, config_dir,
                 public_dir, script_dir, copy, jvm_options, archive, archive_prefix):
        # pylint: disable=too-many-arguments,too-many-positional-arguments
        self.project = self._project_dir(project_dir)
        self.project_real = _real(self.project)
        self.dest = self._abs(dest)
        self.dest_real = _real(self.dest)
        self._check_dest()

        try:
            self.generated = render_scripts(main_class, jvm_options)
        except RunnerOptionError as exc:
            raise XitrumPackageError(str(exc)) from None

        self.files = {}
        self.dirs = set(LAYOUT)
        self.copy_tops = set()
        self._source_dirs = []  # (option label, absolute path, real path): dest must not be inside
        self._collect_lib(main_jar, jars, classpath_file)
        self._collect_dir(config_dir, "config", "config_dir")
        self._collect_dir(public_dir, "public", "public_dir")
        # Like xitrum-package, the project's script/ goes into the package; its own runner and runner.bat (a
        # Xitrum project has them) give way to the generated ones, which carry main_class and jvm_options.
        self._collect_dir(script_dir, "script", "script_dir")
        self.not_copied = sorted(rel for rel in self.generated
                                 if rel in self.files and self.files[rel].origin == "script_dir")
        for rel in self.not_copied:
            del self.files[rel]
        for entry in copy:
            self._collect_copy(entry)
        self._check_names()
        self.archive, self.archive_prefix = self._archive(archive, archive_prefix)

    # -- the scalar options --------------------------------------------------------------------

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

    def _check_names(self):
        """No source may bring a generated script, a directory's name or the index's name."""
        for rel in self.generated:
            if rel in self.files:
                raise XitrumPackageError(
                    "%s would bring %s (%s), but the module generates that file; remove it from the "
                    "project or from the option" % (self.files[rel].origin, rel, self.files[rel].path))
        for rel in list(self.files) + list(self.generated):
            if rel in self.dirs:
                raise XitrumPackageError(
                    "%s would be both a file (%s) and a directory in dest"
                    % (rel, self.files[rel].path if rel in self.files else RUNNER))
            if rel == INDEX_NAME:
                raise XitrumPackageError(
                    "%s would bring %s, a name the module keeps for its own index in dest"
                    % (self.files[rel].origin, INDEX_NAME))

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
                if src.dev == st.st_dev and src.ino == st.st_ino:
                    raise XitrumPackageError("archive '%s' must not be a file of the package (from %s)"
                                             % (path, src.origin))
        if prefix is None:
            prefix = os.path.basename(self.dest)
        if not prefix or "/" in prefix or prefix in (".", "..") or "\0" in prefix:
            raise XitrumPackageError(
                "archive_prefix %r must be a single directory name (no '/', not '.' or '..')" % (prefix,))
        return path, prefix

    # -- the files -----------------------------------------------------------------------------

    def _add(self, rel, path, st, origin):
        prev = self.files.get(rel)
        if prev is None:
            self.files[rel] = Source(path, st.st_size, st.st_mtime_ns, st.st_atime_ns, st.st_mode, origin,
                                     st.st_dev, st.st_ino)
        elif prev.dev != st.st_dev or prev.ino != st.st_ino:
            raise XitrumPackageError(
                "two different files would be copied to %s: %s (from %s) and %s (from %s)"
                % (rel, prev.path, prev.origin, path, origin))

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
            if option == rel:  # the default: a project without config/, public/ or script/ is fine
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


# ---------------------------------------------------------------------------------------------
# 2. What dest holds now


class _DestState:
    """dest as it is: regular files (rel -> os.stat_result, from lstat), directories, anything else (rel -> path), and
    what the last run's index recorded (files: rel -> [size, mtime_ns, sha256]; the archive)."""

    def __init__(self):
        self.files, self.dirs, self.others = {}, set(), {}
        self.index = {}
        self.old_archive = None

    @classmethod
    def read(cls, sources):
        state = cls()
        if os.path.isdir(sources.dest):
            had_index = state._load_index(sources.dest)
            state._scan(sources.dest)
            if not had_index:
                state._check_foreign(sources)
        return state

    def _scan(self, dest):
        files, dirs, others = self.files, self.dirs, self.others
        stack = [(dest, "")]
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
                            files[child] = entry.stat(follow_symlinks=False)
                        else:
                            others[child] = entry.path
        except OSError as exc:
            raise XitrumPackageError("cannot read dest '%s': %s: %s"
                                     % (dest, exc.filename or path, _strerror(exc))) from None

    def _load_index(self, dest):
        try:
            with open(os.path.join(dest, INDEX_NAME), encoding="utf-8") as handle:
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

    def _check_foreign(self, sources):
        """Refuse a non-empty dest the module did not write, rather than delete someone's files."""
        allowed = set(LAYOUT) | sources.copy_tops
        tops = {rel.split("/")[0] for rel in itertools.chain(self.files, self.dirs, self.others)}
        foreign = sorted(tops - allowed)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise XitrumPackageError(
                "dest '%s' already holds files this module did not write (%s, and no %s); empty it or "
                "choose another dest, since stale files in dest are removed" % (sources.dest, shown, INDEX_NAME))


# ---------------------------------------------------------------------------------------------
# 3. The changes: compare, then apply


class _Changes:
    """What differs between the sources and dest (for the result), and the steps that make dest right.

    hashes (rel -> sha256) is filled for every file of the package: from the index when dest's copy
    is unchanged, else read, or computed while copying.
    """

    # pylint: disable=too-many-instance-attributes

    def __init__(self, sources, state):
        self.sources, self.state = sources, state
        self.hashes = {}
        self.added, self.changed, self.removed = [], [], []
        self.to_copy, self.to_meta, self.write_generated = [], [], []
        self.unlink, self.rmdir, self.mkdir = [], [], []

    def compare(self, workers):
        need_dest_hash, compare_content = self._compare_stats()
        self._compare_content(compare_content, workers)
        if need_dest_hash:
            paths = [os.path.join(self.sources.dest, rel) for rel in need_dest_hash]
            self.hashes.update(zip(need_dest_hash, _read(sha256_file, paths, workers)))
        self._compare_generated()
        self._check_readable()
        self._compare_stale()
        self.added.sort()
        self.changed.sort()
        self.removed.sort()

    def _compare_stats(self):
        """Sort the sources by the stat of their copy in dest; return (rels whose copy is taken as
        equal but whose hash is not known, rels of the same size and another mtime)."""
        dest_files, index, hashes = self.state.files, self.state.index, self.hashes
        need_dest_hash, compare_content = [], []
        for rel, src in self.sources.files.items():
            cur = dest_files.get(rel)
            if cur is None:
                (self.changed if rel in self.state.others else self.added).append(rel)
                self.to_copy.append(rel)
            elif cur.st_size == src.size and cur.st_mtime_ns == src.mtime_ns:
                if (cur.st_mode ^ src.mode) & 0o7777:
                    self.changed.append(rel)
                    self.to_meta.append(rel)
                known = _indexed_hash(index, rel, src.size, cur.st_mtime_ns)
                if known:
                    hashes[rel] = known
                else:
                    need_dest_hash.append(rel)
            elif cur.st_size == src.size:
                compare_content.append(rel)
            else:
                self.changed.append(rel)
                self.to_copy.append(rel)
        return need_dest_hash, compare_content

    def _compare_content(self, rels, workers):
        """Same size, other mtime: the content decides (a touched source is not a change)."""
        dest, files, dest_files, index = self.sources.dest, self.sources.files, self.state.files, self.state.index

        def both(rel):
            cur = dest_files[rel]
            old = _indexed_hash(index, rel, cur.st_size, cur.st_mtime_ns) or sha256_file(os.path.join(dest, rel))
            return sha256_file(files[rel].path), old

        for rel, (new, old) in zip(rels, _read(both, rels, workers)):
            if new == old:
                self.hashes[rel] = new
                self.to_meta.append(rel)
                if (dest_files[rel].st_mode ^ files[rel].mode) & 0o7777:
                    self.changed.append(rel)
            else:
                self.changed.append(rel)
                self.to_copy.append(rel)

    def _compare_generated(self):
        for rel, data in self.sources.generated.items():
            self.hashes[rel] = hashlib.sha256(data).hexdigest()
            cur = self.state.files.get(rel)
            if cur is None:
                (self.changed if rel in self.state.others else self.added).append(rel)
                self.write_generated.append(rel)
            elif cur.st_size != len(data) or self._read_dest(rel) != data or cur.st_mode & 0o7777 != SCRIPT_MODES[rel]:
                self.changed.append(rel)
                self.write_generated.append(rel)

    def _read_dest(self, rel):
        try:
            with open(os.path.join(self.sources.dest, rel), "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise XitrumPackageError("cannot read %s: %s" % (exc.filename, _strerror(exc))) from None

    def _check_readable(self):
        """The files to copy are checked now, so that a bad one stops us before writing (root reads
        everything, so the check is skipped there)."""
        if os.geteuid() == 0:
            return
        for rel in self.to_copy:
            src = self.sources.files[rel]
            if not os.access(src.path, os.R_OK):
                raise XitrumPackageError("%s: cannot read %s: permission denied" % (src.origin, src.path))

    def _compare_stale(self):
        """What dest holds and no source brings any more, and the directories to create."""
        wanted_files = self.sources.files.keys() | self.sources.generated.keys()
        dirs, state = self.sources.dirs, self.state
        for rel in state.files:
            if rel not in wanted_files:
                self.removed.append(rel)
                self.unlink.append(rel)
        for rel in state.others:
            self.unlink.append(rel)
            if rel not in wanted_files:
                self.removed.append(rel)
        stale_dirs = [rel for rel in state.dirs if rel not in dirs]
        self.removed.extend(rel + "/" for rel in stale_dirs)
        self.rmdir = sorted(stale_dirs, key=lambda r: r.count("/"), reverse=True)
        self.mkdir = sorted((rel for rel in dirs if rel not in state.dirs), key=lambda r: r.split("/"))
        self.added.extend(rel + "/" for rel in self.mkdir)

    def hash_pending(self, workers):
        """Check mode: hash the sources that would be copied, for the predicted checksums."""
        if self.to_copy:
            paths = [self.sources.files[rel].path for rel in self.to_copy]
            self.hashes.update(zip(self.to_copy, _read(sha256_file, paths, workers)))

    def apply(self, workers):
        """Write the changes. A new dest is built beside it and renamed into place when complete."""
        dest = self.sources.dest
        build = None
        step = "create %s" % dest
        try:
            if not os.path.isdir(dest):
                parent, name = os.path.split(dest)
                if not os.path.isdir(parent):
                    os.makedirs(parent)
                build = tempfile.mkdtemp(prefix=".%s." % name[:200], suffix=TMP_SUFFIX, dir=parent)
                umask = os.umask(0o022)
                os.umask(umask)
                os.chmod(build, 0o777 & ~umask)
            self._apply(build or dest, build is None, workers)
            if build is not None:
                step = "rename %s to %s" % (build, dest)
                os.rename(build, dest)
                build = None
        except OSError as exc:
            raise XitrumPackageError("Failed to %s: %s" % (step, _strerror(exc))) from None
        finally:
            if build is not None:
                shutil.rmtree(build, ignore_errors=True)

    def _apply(self, dest, atomic, workers):
        files = self.sources.files
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
                os.chmod(path, src.perms)
                os.utime(path, ns=(src.atime_ns, src.mtime_ns))
            for rel in self.write_generated:
                step = "write %s" % rel
                write_bytes(os.path.join(dest, rel), self.sources.generated[rel], SCRIPT_MODES[rel])
            step = "copy files into %s" % dest

            def one(rel):
                src = files[rel]
                target = os.path.join(dest, rel)
                try:
                    return copy_file(src.path, target, src.size, src.perms, src.atime_ns, src.mtime_ns, atomic)
                except OSError as exc:
                    raise XitrumPackageError("Failed to copy %s to %s: %s"
                                             % (src.path, target, _strerror(exc))) from None

            self.hashes.update(zip(self.to_copy, run_parallel(one, self.to_copy, workers)))
        except OSError as exc:
            raise XitrumPackageError("Failed to %s: %s" % (step, _strerror(exc))) from None


# ---------------------------------------------------------------------------------------------
# 4. Checksums, archive, index, result


def _package_items(sources, hashes):
    """(rel, mode, sha256) of the package sorted by path (a directory before its contents), with
    None as the sha256 of a directory."""
    items = [(rel, src.perms, hashes[rel]) for rel, src in sources.files.items()]
    items.extend((rel, SCRIPT_MODES[rel], hashes[rel]) for rel in sources.generated)
    items.extend((rel, 0o755, None) for rel in sources.dirs)
    items.sort(key=lambda item: item[0])
    return items


def _package_checksum(items):
    """sha256 over 'path NUL mode NUL sha256' lines (and 'path/ NUL dir' for directories)."""
    lines = ["%s/\0dir\n" % rel if sha is None else "%s\0%04o\0%s\n" % (rel, mode, sha) for rel, mode, sha in items]
    return hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


class _Archived(NamedTuple):
    changed: bool
    checksum: Optional[str]  # the archive's sha256 (predicted in check mode), None without archive
    record: Optional[dict]  # what the index keeps about it (None in check mode and without archive)
    existed: bool


def _archive_entries(sources, items, check_mode):
    """The archive's entries: the top directory archive_prefix, then the package below it (read from
    dest, or from the sources in check mode, where dest is not written)."""
    prefix = sources.archive_prefix
    entries = [directory(prefix)]
    for rel, mode, sha in items:
        name = prefix + "/" + rel
        if sha is None:
            entries.append(directory(name, mode))
        elif rel in sources.generated:
            entries.append(file_from_bytes(name, sources.generated[rel], mode))
        else:
            src = sources.files[rel]
            path = src.path if check_mode else os.path.join(sources.dest, rel)
            entries.append(file_from_path(name, path, src.size, mode))
    return entries


def _sync_archive(sources, old_record, items, package_checksum, check_mode):
    """Write the archive unless an identical one is there."""
    path = sources.archive
    if not path:
        return _Archived(False, None, None, False)
    existed = os.path.lexists(path)
    record = {"path": path, "prefix": sources.archive_prefix, "format": ARCHIVE_FORMAT,
              "package_checksum": package_checksum}
    old = old_record or {}
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise XitrumPackageError("archive '%s' cannot be read: %s" % (path, _strerror(exc))) from None
    if st is not None and all(old.get(k) == v for k, v in record.items()) \
            and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
        return _Archived(False, old.get("sha256"), old, existed)

    entries = _archive_entries(sources, items, check_mode)
    try:
        old_sha = sha256_file(path) if st is not None else None
    except OSError as exc:
        raise XitrumPackageError("archive '%s' cannot be read: %s" % (path, _strerror(exc))) from None

    if check_mode:
        sink = HashingWriter()
        _write_archive(path, sink, entries)
        return _Archived(sink.hexdigest() != old_sha, sink.hexdigest(), None, existed)

    parent = os.path.dirname(path)
    try:
        if not os.path.isdir(parent):
            os.makedirs(parent)
        tmp, fd = open_tmp(path)
    except OSError as exc:
        raise XitrumPackageError("Failed to create archive '%s': %s" % (path, _strerror(exc))) from None
    try:
        with os.fdopen(fd, "wb", buffering=0) as out:
            sink = HashingWriter(out)
            _write_archive(path, sink, entries)
            os.fchmod(fd, 0o644)
        changed = sink.hexdigest() != old_sha
        if changed:
            os.replace(tmp, path)
            tmp = None
    except OSError as exc:
        raise XitrumPackageError("Failed to write archive '%s': %s" % (path, _strerror(exc))) from None
    finally:
        if tmp is not None:
            remove_quietly(tmp)
    st = os.stat(path)
    record.update(sha256=sink.hexdigest(), size=st.st_size, mtime_ns=st.st_mtime_ns)
    return _Archived(changed, sink.hexdigest(), record, existed)


def _write_archive(path, sink, entries):
    try:
        write_tar_gz(sink, entries)
    except OSError as exc:
        raise XitrumPackageError("Failed to write archive '%s': %s: %s"
                                 % (path, exc.filename or "", _strerror(exc))) from None


def _write_index(sources, state, hashes, archive_record):
    """Record the content hashes (and the archive) for the next run; unchanged, it is not rewritten."""
    files = {rel: [src.size, src.mtime_ns, hashes[rel]] for rel, src in sources.files.items()}
    index = {"version": INDEX_VERSION, "files": files}
    archive = archive_record or (state.old_archive if not sources.archive else None)
    if archive:
        index["archive"] = archive
    old = {"version": INDEX_VERSION, "files": state.index}
    if state.old_archive:
        old["archive"] = state.old_archive
    path = os.path.join(sources.dest, INDEX_NAME)
    if index == old and os.path.isfile(path):
        return
    data = json.dumps(index, sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogateescape")
    try:
        write_bytes(path, data, 0o644)
    except OSError as exc:
        raise XitrumPackageError("Failed to write %s: %s" % (path, _strerror(exc))) from None


def _result(sources, changes, checksum, archived, want_diff):
    result = {
        "changed": bool(changes.added or changes.changed or changes.removed or archived.changed),
        "dest": sources.dest,
        "files": len(sources.files) + len(sources.generated),
        "added": changes.added,
        "changed_files": changes.changed,
        "removed": changes.removed,
        "archive": sources.archive,
        "archive_checksum": archived.checksum,
        "package_checksum": checksum,
        "not_copied": sources.not_copied,
    }
    if want_diff:
        lines = ["+ %s" % rel for rel in changes.added]
        lines.extend("~ %s" % rel for rel in changes.changed)
        lines.extend("- %s" % rel for rel in changes.removed)
        lines.sort(key=lambda line: (line[2:], line[0]))
        if archived.changed:
            lines.append("%s archive %s" % ("~" if archived.existed else "+", sources.archive))
        summary = "%s: %d added, %d changed, %d removed; %d files in the package" % (
            sources.dest, len(changes.added), len(changes.changed), len(changes.removed), result["files"])
        result["diff"] = {"prepared": "\n".join(lines + [summary]) + "\n"}
    return result
