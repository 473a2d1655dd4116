# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: checksum
short_description: SHA-256 of files and of whole directory trees on the controller, without running a module
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - For a file, the SHA-256 of its content (what C(sha256sum) prints, and what M(ansible.builtin.stat) returns with
    C(checksum_algorithm=sha256)).
  - For a directory, one SHA-256 over everything in it, hidden files included and symbolic links not followed,
    made of the relative path, the mode and the kind of every entry, with the content's SHA-256 for a file and the target
    for a link. It changes when a file is added, removed, renamed, changed, or its mode changes.
  - It runs in the controller's Ansible process. M(ansible.builtin.stat) or M(ansible.builtin.find) delegated to
    localhost give the same answer with a module run (a Python process) per host.
options:
  _terms:
    description: Paths on the controller (relative ones from the playbook's directory).
    required: true
    type: list
    elements: path
  missing:
    description: What a path that does not exist gives, an empty string (C(empty)) or a failure that names it (C(error)).
    type: str
    choices: [empty, error]
    default: error
notes:
  - Files are read in blocks, so a large archive is hashed without being held in memory.
"""

EXAMPLES = r"""
- name: Name the release after the archive's checksum
  ansible.builtin.set_fact:
    release: "{{ lookup('jvmops.deploy.checksum', '/srv/builds/hello.tar.gz')[:12] }}"

- name: Build only when the source changed
  ansible.builtin.set_fact:
    source_digest: "{{ lookup('jvmops.deploy.checksum', build_src, missing='empty') }}"
"""

RETURN = r"""
_raw:
  description: One SHA-256 (64 hexadecimal digits) per path; an empty string for a missing path with O(missing=empty).
  type: list
  elements: str
"""

import hashlib
import os
import stat

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.lookup import LookupBase

from ansible_collections.jvmops.deploy.plugins.module_utils._archive import sha256_file as file_digest


def tree_digest(top):
    """One SHA-256 over the entries under top: relative path, mode, kind, and content digest or link target."""
    lines = []

    def unreadable(exc):
        raise exc

    for root, dirs, files in os.walk(top, onerror=unreadable):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, top)
            mode = f"{stat.S_IMODE(info.st_mode):04o}"
            if stat.S_ISLNK(info.st_mode):
                lines.append(f"{relative}\t{mode}\tlink\t{os.readlink(path)}")
            elif stat.S_ISDIR(info.st_mode):
                lines.append(f"{relative}\t{mode}\tdirectory\t")
            elif stat.S_ISREG(info.st_mode):
                lines.append(f"{relative}\t{mode}\tfile\t{file_digest(path)}")
            else:
                lines.append(f"{relative}\t{mode}\tother\t")
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        missing = self.get_option("missing")
        results = []
        for term in terms:
            path = to_text(term)
            if not os.path.isabs(path):
                path = os.path.join(self._loader.get_basedir(), path)
            bpath = to_bytes(path, errors="surrogate_or_strict")
            if not os.path.exists(bpath):
                if missing == "empty":
                    results.append("")
                    continue
                raise AnsibleLookupError(f"checksum: {term} does not exist on the controller")
            try:
                results.append(tree_digest(path) if os.path.isdir(bpath) else file_digest(bpath))
            except OSError as exc:
                raise AnsibleLookupError(f"checksum: cannot read {term}: {exc}") from exc
        return results
