# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_lock
short_description: Take or release a deploy lock file on a host, refusing one that another run holds
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - A lock is a small JSON file naming its holder (who, from which controller, when, why). A run takes it before it
    changes what serves and releases it at the end, so that a second deploy or rollback of the same app, started
    while the first runs, refuses with the holder's details instead of interleaving with it.
  - Taking a lock that does not exist creates the file atomically (it is created only if absent, so two runs that
    race for it cannot both win). Taking a lock this run already holds (the same O(holder.id)) changes nothing.
    Taking a lock another run holds fails with the holder's details in RV(held_by), unless O(force=true), which
    takes it over and returns the former holder in RV(broken).
  - Releasing removes the file when this run holds it. A lock held by another run is left alone (and returned in
    RV(held_by)) unless O(force=true).
  - The playbooks C(jvmops.deploy.deploy) and C(jvmops.deploy.rollback) take the lock on every app host first and
    release it at the end, through the C(jvmops.deploy.jvm_app) role's C(lock) and C(unlock) entry points; see
    C(docs/app-operations.md).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Tells whether the lock could be taken or released (a lock another run holds still fails), and writes nothing.
  diff_mode:
    support: full
    details: The lock file's holder before and after, as JSON (empty when there is no lock).
  platform:
    platforms: posix
options:
  path:
    description:
      - The lock file. Its directory is created (mode C(0755)) when missing.
    type: path
    required: true
  state:
    description:
      - V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  holder:
    description:
      - Who takes or releases the lock. O(holder.id) tells one run from another; the other keys are written to the
        file as given and shown to whoever is refused.
    type: dict
    required: true
    suboptions:
      id:
        description:
          - A token unique to the run (the playbooks make a random one per run).
        type: str
        required: true
      user:
        description:
          - Who runs it.
        type: str
      controller:
        description:
          - The controller host the run started on.
        type: str
      pid:
        description:
          - The process id of the run on its controller (a lock whose run is gone can then be recognised as stale).
        type: int
      why:
        description:
          - Why the run was started (what is deployed, a ticket).
        type: str
      operation:
        description:
          - What the run does, such as V(deploy) or V(rollback).
        type: str
  force:
    description:
      - With O(state=present), take the lock even when another run holds it; with O(state=absent), remove it
        whoever holds it. For a lock whose run has ended without releasing it (a failed or interrupted run).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Take the deploy lock
  jvmops.deploy.deploy_lock:
    path: /var/lib/jvmops/locks/hello.lock
    holder:
      id: "{{ run_id }}"
      user: "{{ lookup('ansible.builtin.env', 'USER') }}"
      why: release 1.4.2

- name: Release it
  jvmops.deploy.deploy_lock:
    path: /var/lib/jvmops/locks/hello.lock
    state: absent
    holder:
      id: "{{ run_id }}"
"""

RETURN = r"""
held_by:
  description: The holder recorded in the lock file after the call (empty when there is no lock), or, when the call
    was refused, the run that holds it.
  returned: always
  type: dict
  sample: {"id": "f3Qa9", "user": "alice", "controller": "ops1", "pid": 4711, "why": "release 1.4.2",
           "operation": "deploy", "since": "2026-11-28T10:15:02Z"}
broken:
  description: The holder whose lock O(force=true) took over or removed; empty otherwise.
  returned: always
  type: dict
  sample: {"id": "b81x", "user": "bob", "since": "2026-11-27T18:01:44Z"}
"""

import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule


def read_lock(path):
    """The holder in the lock file, {} when there is none, or {'unreadable': text} when it cannot be parsed."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return {}
    try:
        holder = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {"unreadable": raw[:200].decode("utf-8", "replace")}
    return holder if isinstance(holder, dict) else {"unreadable": str(holder)[:200]}


def describe(holder):
    if "unreadable" in holder:
        return f"a lock file that cannot be read ({holder['unreadable']!r})"
    who = holder.get("user") or "someone"
    if holder.get("controller"):
        who += f"@{holder['controller']}"
    if holder.get("pid"):
        who += f" (pid {holder['pid']})"
    text = f"{holder.get('operation') or 'a run'} by {who} since {holder.get('since', '?')}"
    return text + (f", why: {holder['why']}" if holder.get("why") else "")


def write_lock(path, holder, replace):
    """Create the lock file atomically: O_EXCL when none may exist, a rename over it when replace."""
    data = json.dumps(holder, sort_keys=True).encode("utf-8") + b"\n"
    directory = os.path.dirname(path) or "."
    if replace:
        fd, tmp = tempfile.mkstemp(prefix=".lock-", dir=directory)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return True
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def take(module, path, holder, force, current):
    if current and current.get("id") == holder["id"]:
        return False, {"held_by": current, "broken": {}}
    if current and not force:
        module.fail_json(msg=f"{path} is locked: {describe(current)}. Wait for that run to end; if it ended without "
                             "releasing the lock (it failed or was stopped), take it over with force (the playbooks: "
                             "-e lock=break).", held_by=current, broken={})
    mine = {**holder, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if module.check_mode:
        return True, {"held_by": mine, "broken": current}
    os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
    if not write_lock(path, mine, replace=bool(current)):
        # Another run created it between our read and our create.
        module.fail_json(msg=f"{path} is locked: {describe(read_lock(path))}. It was taken a moment ago by another run.",
                         held_by=read_lock(path), broken={})
    return True, {"held_by": read_lock(path), "broken": current}


def release(module, path, holder, force, current):
    if not current:
        return False, {"held_by": {}, "broken": {}}
    if current.get("id") != holder["id"] and not force:
        module.warn(f"{path} is held by another run, left in place: {describe(current)}")
        return False, {"held_by": current, "broken": {}}
    broken = {} if current.get("id") == holder["id"] else current
    if not module.check_mode:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
    return True, {"held_by": {}, "broken": broken}


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "holder": {
                "type": "dict",
                "required": True,
                "options": {
                    "id": {"type": "str", "required": True},
                    "user": {"type": "str"},
                    "controller": {"type": "str"},
                    "pid": {"type": "int"},
                    "why": {"type": "str"},
                    "operation": {"type": "str"},
                },
            },
            "force": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    holder = {k: v for k, v in params["holder"].items() if v not in (None, "")}
    if not holder.get("id", "").strip():
        module.fail_json(msg="holder.id must be a non-empty token that tells this run from others")
    path = params["path"]
    if os.path.isdir(path):
        module.fail_json(msg=f"path: {path} is a directory; give the lock file's path")
    try:
        before = read_lock(path)
        if params["state"] == "present":
            changed, result = take(module, path, holder, params["force"], before)
        else:
            changed, result = release(module, path, holder, params["force"], before)
    except OSError as exc:
        module.fail_json(msg=f"Failed to {'take' if params['state'] == 'present' else 'release'} the lock {path}: {exc}")
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before_header": path, "after_header": path,
                          "before": json.dumps(before, sort_keys=True, indent=2) + "\n" if before else "",
                          "after": json.dumps(result["held_by"], sort_keys=True, indent=2) + "\n" if result["held_by"] else ""}
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
