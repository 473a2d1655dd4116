#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_run
short_description: Run a one-off command in a Heroku dyno and return its output and exit status (C(heroku run))
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Starts a one-off dyno of the app's current release with O(command), such as the recipe's
    C(heroku run lein trampoline run -m demo 100), waits for it to end and returns what it printed and its exit status.
  - With O(attach=true) (the default) the module attaches to the dyno as the Heroku CLI does (the dyno's rendezvous URL),
    and the exit status comes from a marker printed after the command. With O(attach=false) the dyno runs detached and
    the output and exit status are read from the app's log (lines of that dyno).
  - Like M(ansible.builtin.command), a non-zero exit status fails the task, and every run reports a change.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.heroku
  - jvmops.deploy.heroku.app
attributes:
  check_mode:
    details: Nothing is started; the task reports that the command would run.
  diff_mode:
    support: none
  idempotent:
    support: none
    description: Every run starts a dyno.
options:
  command:
    description:
      - The command line, run by a shell in the dyno (as in a Procfile).
    type: str
    required: true
  attach:
    description:
      - Attach to the dyno and read its output directly (V(true)), or run it detached and read its log lines (V(false)).
    type: bool
    default: true
  size:
    description:
      - The dyno size, such as V(basic) or V(standard-2X); by default the app's default size.
      - It is looked up in the API's dyno sizes first, in check mode too, so an unknown size fails before any dyno
        starts.
    type: str
  time_to_live:
    description:
      - Seconds after which Heroku stops the dyno, whatever it is doing; at most V(86400) (24 hours).
    type: int
  env:
    description:
      - Extra environment variables for this dyno only (on top of the app's config vars). Treated as secrets.
    type: dict
  wait_timeout:
    description:
      - Seconds to wait for the command to end. The dyno is not stopped when they run out; use O(time_to_live) for that.
    type: int
    default: 600
seealso:
  - module: jvmops.deploy.heroku_logs
"""

EXAMPLES = r"""
- name: Run the demo script (heroku run ... demo 100)
  jvmops.deploy.heroku_run:
    app: glacial-tundra-7926
    command: target/xitrum/script/runner demo 100
  register: demo

- name: A database migration, detached, stopped after 20 minutes at the latest
  jvmops.deploy.heroku_run:
    app: glacial-tundra-7926
    command: target/xitrum/script/runner migrate
    attach: false
    size: standard-2X
    time_to_live: 1200
    wait_timeout: 1500
"""

RETURN = r"""
rc:
  description: The command's exit status.
  type: int
  returned: unless in check mode
  sample: 0
stdout:
  description: What the command printed (standard output and standard error, merged as in a dyno).
  type: str
  returned: unless in check mode
  sample: "0 1 1 2 3 5 8 13 21 34 55 89\n"
stdout_lines:
  description: RV(stdout) split into lines.
  type: list
  elements: str
  returned: unless in check mode
  sample: ["0 1 1 2 3 5 8 13 21 34 55 89"]
dyno:
  description: The one-off dyno as the API returned it when it was created.
  type: dict
  returned: unless in check mode
  sample: {"name": "run.1234", "state": "starting", "type": "run", "size": "Basic"}
"""

import re
import time

from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import (
    EXIT_MARKER, HerokuModule, HerokuModuleError, HerokuOptionError, check_dyno_size, log_lines, parse_exit_status,
    parse_log_line)

# The schema's dyno time_to_live: "max 86400 seconds (24 hours)".
MAX_TIME_TO_LIVE = 86400
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
EXITED = re.compile(r"^Process exited with status (\d+)")
ENDED = re.compile(r"^State changed from \S+ to (complete|crashed)")


def check_options(params):
    problems = []
    if not params["command"].strip():
        problems.append("command: must not be empty")
    if params["time_to_live"] is not None and params["time_to_live"] <= 0:
        problems.append(f"time_to_live: must be more than 0 seconds, got {params['time_to_live']}")
    elif params["time_to_live"] is not None and params["time_to_live"] > MAX_TIME_TO_LIVE:
        problems.append(f"time_to_live: must be at most {MAX_TIME_TO_LIVE} seconds (24 hours), got {params['time_to_live']}")
    if params["size"] is not None and not params["size"].strip():
        problems.append("size: must not be empty")
    if params["wait_timeout"] <= 0:
        problems.append(f"wait_timeout: must be more than 0 seconds, got {params['wait_timeout']}")
    for key, value in (params["env"] or {}).items():
        if not ENV_NAME.match(key):
            problems.append(f"env: '{key}' is not an environment variable name (letters, digits and underscores)")
        elif value is None or isinstance(value, (bool, dict, list)):
            problems.append(f"env: the value of {key} must be a string")
    return problems


def with_exit_marker(command):
    """The command line that prints EXIT_MARKER and the command's exit status after it.

    The command runs in a subshell on lines of its own, so that a comment or a trailing & in it does not swallow the
    marker, and exit (or exec) ends the subshell, not the line that reports its status.
    """
    return f'(\n{command}\n)\necho "{EXIT_MARKER} $?"'


def run_attached(client, app, body, timeout):
    command = body["command"]
    body = dict(body, attach=True, command=with_exit_marker(command))
    dyno = client.post("/apps/{app}/dynos", body, app=app)
    if not dyno.get("attach_url"):
        raise HerokuModuleError(f"Failed to attach to one-off dyno of app '{app}': the API gave no attach_url")
    raw = client.rendezvous(dyno["attach_url"], timeout, what=("attach to", "one-off dyno of app", app))
    # The marker (with its U+FFFF, which XML-based job logs cannot hold) is ours: report the command as given.
    dyno = dict(dyno, command=command)
    output = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    output, status = parse_exit_status(output)
    if status is None:
        raise HerokuModuleError(f"Failed to run command on app '{app}': dyno {dyno.get('name')} ended without reporting "
                                "an exit status (stopped by time_to_live, or the connection was lost)")
    return dyno, status, output


def run_detached(client, app, body, timeout):
    body = dict(body, attach=False)
    dyno = client.post("/apps/{app}/dynos", body, app=app)
    name = dyno["name"]
    stream = log_lines(client, app, {"dyno_name": name, "tail": True, "lines": 1500}, timeout)
    deadline = time.monotonic() + timeout
    lines, status = [], None
    for line in stream:
        entry = parse_log_line(line)
        if entry and entry["dyno"] == name:
            if entry["source"] == "app":
                lines.append(entry["message"])
            elif EXITED.match(entry["message"]):
                status = int(EXITED.match(entry["message"]).group(1))
            elif ENDED.match(entry["message"]) and status is not None:
                break
        if time.monotonic() > deadline:
            break
    if status is None:
        raise HerokuOptionError("wait_timeout", f"dyno {name} of app '{app}' did not end within {timeout} s (it may still "
                                                "run; see jvmops.deploy.heroku_logs)")
    return dyno, status, "".join(line + "\n" for line in lines)


def run(module, client):
    params = module.params
    if params["size"]:
        check_dyno_size(client, params["size"], "size")
    if module.check_mode:
        return True, {"msg": f"would run '{params['command']}' in a one-off dyno of app '{params['app']}'"}
    body = {"command": params["command"], "type": "run"}
    if params["size"]:
        body["size"] = params["size"]
    if params["time_to_live"]:
        body["time_to_live"] = params["time_to_live"]
    if params["env"]:
        body["env"] = {key: str(value) for key, value in params["env"].items()}
    start = run_attached if params["attach"] else run_detached
    dyno, status, output = start(client, params["app"], body, params["wait_timeout"])
    result = {"rc": status, "stdout": output, "stdout_lines": output.splitlines(), "dyno": dyno}
    if status != 0:
        raise HerokuModuleError(f"Failed to run command on app '{params['app']}': dyno {dyno.get('name')} exited with "
                                f"status {status}", changed=True, **result)
    return True, result


def main():
    module = HerokuModule(argument_spec={
        "app": {"type": "str", "required": True},
        "command": {"type": "str", "required": True},
        "attach": {"type": "bool", "default": True},
        "size": {"type": "str"},
        "time_to_live": {"type": "int"},
        "env": {"type": "dict", "no_log": True},
        "wait_timeout": {"type": "int", "default": 600},
    }, check_options=check_options, supports_check_mode=True)
    module.run(run)


if __name__ == "__main__":
    main()
