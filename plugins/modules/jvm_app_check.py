# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: jvm_app_check
short_description: Wait until a JVM web app answers on its health and version paths, and check its open files limit
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - The checks the M(jvmops.deploy.jvm_app) role makes after every start and on every run, in one call on the app
    host.
  - Asks O(url) plus O(health_path) until it answers C(200), for at most O(health_timeout) seconds.
  - When O(expected_version) is given, asks O(url) plus O(version_path) until the answer contains it, for at most
    O(version_timeout) seconds.
  - When O(nofile) is given, finds the app's process through its process manager (O(process_manager) and O(name))
    and checks that its soft and hard open files limits (C(/proc/<pid>/limits)) are both O(nofile).
  - Only reads; it never reports a change.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Makes the same reads; O(expected_version) is not waited for, since the new release does not run yet.
  diff_mode:
    support: N/A
    details: It only reads, so there is never a difference to show.
  platform:
    platforms: posix
options:
  url:
    description:
      - Where the app listens, without a path (C(http://127.0.0.1:8000)).
    type: str
    required: true
  health_path:
    description: The path that answers C(200) when the app is up.
    type: str
    default: /health
  health_timeout:
    description: Seconds to wait for O(health_path) to answer C(200); 0 asks once.
    type: int
    default: 90
  version_path:
    description: The path whose answer contains the running version.
    type: str
    default: /version
  expected_version:
    description: Text the answer of O(version_path) must contain; empty, not checked.
    type: str
    default: ""
  version_timeout:
    description: Seconds to wait for O(expected_version) to show.
    type: int
    default: 10
  process_manager:
    description: What runs the app, to find its process for O(nofile).
    type: str
    choices: [supervisord, systemd, runit]
  name:
    description: The app's program (supervisord), unit (C(<name>.service), systemd) or service (runit) name.
    type: str
  nofile:
    description: The open files limit (soft and hard) the app's process must have; not checked when not given.
    type: int
"""

EXAMPLES = r"""
- name: Check the app after its restart
  jvmops.deploy.jvm_app_check:
    url: http://127.0.0.1:8000
    expected_version: 1.4.2
    process_manager: supervisord
    name: hello
    nofile: 65536
"""

RETURN = r"""
health:
  description: The status and body (its first KiB) of the last answer of O(health_path).
  type: dict
  returned: always
  sample: {"status": 200, "body": "OK"}
version:
  description: The body of the last answer of O(version_path), when it was asked.
  type: str
  returned: when O(expected_version) is given and not in check mode
  sample: "1.4.2 (build 6f0c2a)"
pid:
  description: The app's process id, when O(nofile) is checked.
  type: int
  returned: when O(nofile) is given
  sample: 4242
nofile_line:
  description: The C(Max open files) line of the process's limits.
  type: str
  returned: when O(nofile) is given
  sample: "Max open files            65536                65536                files"
"""

import os
import re
import time
from urllib.error import HTTPError

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

# Where /proc is read (tests point it at a directory of their own).
PROC_ROOT = "/proc"
RUNIT_DIR = "/etc/sv"


class CheckError(Exception):
    """The app does not pass a check; the message says which and what was seen."""


def ask(url, timeout=5):
    """(status, body) of a GET, status 0 and the reason when nothing answered."""
    try:
        response = open_url(url, method="GET", timeout=timeout, validate_certs=False, follow_redirects="all")
        return response.getcode(), response.read(1024).decode("utf-8", "replace")
    except HTTPError as exc:
        return exc.code, (exc.read(1024) or b"").decode("utf-8", "replace")
    except Exception as exc:  # pylint: disable=broad-exception-caught  # refused, reset, timeout: not up yet
        return 0, str(getattr(exc, "reason", exc))


def wait_for(url, timeout, done):
    """Ask url about once a second until done(status, body) or timeout seconds pass; the last (status, body)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = ask(url)
        if done(status, body) or time.monotonic() >= deadline:
            return status, body
        time.sleep(1)


def find_pid(module, manager, name):
    if manager == "runit":
        path = os.path.join(RUNIT_DIR, name, "supervise", "pid")
        try:
            with open(path, encoding="ascii") as handle:
                text = handle.read()
        except OSError as exc:
            raise CheckError(f"cannot read {path}: {exc.strerror}") from exc
    else:
        argv = (["supervisorctl", "pid", name] if manager == "supervisord"
                else ["systemctl", "show", "-p", "MainPID", "--value", f"{name}.service"])
        rc, text, err = module.run_command(argv)
        if rc != 0:
            raise CheckError(f"{' '.join(argv)} failed (exit {rc}): {(err or text).strip()}")
    text = text.strip()
    if not text.isdigit() or int(text) == 0:
        raise CheckError(f"{manager} reports no process for {name} (got {text!r})")
    return int(text)


def nofile_line(pid):
    path = os.path.join(PROC_ROOT, str(pid), "limits")
    try:
        with open(path, encoding="ascii") as handle:
            limits = handle.read()
    except OSError as exc:
        raise CheckError(f"cannot read {path}: {exc.strerror}") from exc
    match = re.search(r"^Max open files.*$", limits, re.M)
    return match.group(0) if match else ""


def run(module):
    params = module.params
    for option in ("health_timeout", "version_timeout"):
        if params[option] < 0:
            raise CheckError(f"{option}: seconds, 0 or more, got {params[option]}")
    if params["nofile"] is not None and (params["nofile"] < 1 or not params["process_manager"] or not params["name"]):
        raise CheckError("nofile: a limit of at least 1, with process_manager and name to find the process")
    if not re.match(r"^https?://[^/]+$", params["url"]):
        raise CheckError(f"url: http:// or https:// with a host and port and no path, got {params['url']!r}")
    result = {"changed": False}
    health_url = params["url"] + params["health_path"]
    status, body = wait_for(health_url, params["health_timeout"], lambda s, _b: s == 200)
    result["health"] = {"status": status, "body": body}
    if status != 200:
        raise CheckError(f"{health_url} did not answer 200 within {params['health_timeout']} s: "
                         f"last {status or 'no answer'} {body.strip()[:200]}")
    if params["expected_version"] and not module.check_mode:
        version_url = params["url"] + params["version_path"]
        status, body = wait_for(version_url, params["version_timeout"],
                                lambda s, b: s == 200 and params["expected_version"] in b)
        result["version"] = body
        if status != 200 or params["expected_version"] not in body:
            raise CheckError(f"{version_url} does not show {params['expected_version']} after "
                             f"{params['version_timeout']} s: last {status or 'no answer'} {body.strip()[:200]}")
    if params["nofile"] is not None:
        pid = find_pid(module, params["process_manager"], params["name"])
        line = nofile_line(pid)
        result.update(pid=pid, nofile_line=line)
        wanted = str(params["nofile"])
        if not re.search(rf"\s{wanted}\s+{wanted}\s", line + " "):
            raise CheckError(
                f'The app (pid {pid}) runs with "{line.strip()}", not {wanted} open files. The host may not allow that '
                "many (a container without CAP_SYS_RESOURCE keeps its start limit): lower kernel_tuning_nofile / "
                "jvm_app_nofile.")
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "health_path": {"type": "str", "default": "/health"},
            "health_timeout": {"type": "int", "default": 90},
            "version_path": {"type": "str", "default": "/version"},
            "expected_version": {"type": "str", "default": ""},
            "version_timeout": {"type": "int", "default": 10},
            "process_manager": {"type": "str", "choices": ["supervisord", "systemd", "runit"]},
            "name": {"type": "str"},
            "nofile": {"type": "int"},
        },
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except CheckError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
