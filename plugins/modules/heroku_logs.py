#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_logs
short_description: Read recent log lines of a Heroku app (C(heroku logs))
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Opens a log session and returns the app's most recent log lines, optionally only those of one source, process
    type or dyno, and only those after a point in time (O(since)), so that a play can read what is new since its last
    look (pass back RV(last_timestamp)).
  - With O(tail_seconds), keeps reading new lines for that long, like C(heroku logs --tail) for a while.
  - Only reads; never reports a change.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.heroku
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
  idempotent:
    support: full
    description: It only reads.
options:
  app:
    description:
      - The app's name or id.
    type: str
    required: true
  lines:
    description:
      - How many recent lines to ask for (1 to 1500), before O(since) is applied.
    type: int
    default: 100
  source:
    description:
      - Only lines of this source, V(app) (the app's own output and API events) or V(heroku) (router and dyno manager).
    type: str
  process_type:
    description:
      - Only lines of dynos of this process type, such as V(web).
    type: str
  dyno:
    description:
      - Only lines of this dyno, such as V(web.1) or V(run.1234).
    type: str
  since:
    description:
      - Only lines logged after this time, an ISO 8601 timestamp with a zone (for example RV(last_timestamp) of an
        earlier run, or V(2026-11-22T14:00:00Z)).
    type: str
  tail_seconds:
    description:
      - Keep reading new lines for this many seconds after the recent ones. V(0) reads only the recent lines.
    type: int
    default: 0
seealso:
  - module: jvmops.deploy.heroku_run
"""

EXAMPLES = r"""
- name: The web dynos' last 200 lines
  jvmops.deploy.heroku_logs:
    app: glacial-tundra-7926
    process_type: web
    lines: 200
  register: web_logs

- name: What was logged since then
  jvmops.deploy.heroku_logs:
    app: glacial-tundra-7926
    since: "{{ web_logs.last_timestamp }}"
"""

RETURN = r"""
lines:
  description: The log lines as Heroku writes them, oldest first.
  type: list
  elements: str
  returned: always
  sample: ["2026-11-22T14:20:11.123456+00:00 app[web.1]: INFO hello-jvm 1.0.0 listening on 0.0.0.0:43123"]
entries:
  description: The same lines, split into their parts.
  type: list
  elements: dict
  returned: always
  sample: [{"timestamp": "2026-11-22T14:20:11.123456+00:00", "source": "app", "dyno": "web.1", "message": "INFO hello-jvm 1.0.0 listening"}]
last_timestamp:
  description: The timestamp of the last line returned (or O(since) when there is none), to give as O(since) next time.
  type: str
  returned: always
  sample: "2026-11-22T14:20:11.123456+00:00"
"""

import re
import time
from datetime import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import HerokuClient, HerokuError, heroku_argument_spec, path_part

LOG_LINE = re.compile(r"^(\S+) ([a-z]+)\[([^\]]+)\]: ?(.*)$")


def parse_time(text):
    """An aware datetime from ISO 8601 text (Z or an offset); None when it is not one."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def read(module, client):
    params = module.params
    app = params["app"]
    body = {"lines": params["lines"], "tail": params["tail_seconds"] > 0}
    if params["source"]:
        body["source"] = params["source"]
    if params["process_type"]:
        body["type"] = params["process_type"]
    if params["dyno"]:
        body["dyno_name"] = params["dyno"]
    since = parse_time(params["since"]) if params["since"] else None
    session = client.call("POST", f"/apps/{path_part(app)}/log-sessions", body, what=("open", "log session of app", app))
    deadline = time.monotonic() + params["tail_seconds"]
    timeout = params["tail_seconds"] if params["tail_seconds"] > 0 else client.timeout
    lines, entries = [], []
    last = params["since"] or ""
    for line in client.stream_lines(session["logplex_url"], timeout=timeout, what=("read", "log of app", app)):
        match = LOG_LINE.match(line)
        if match:
            stamp = parse_time(match.group(1))
            if since is not None and (stamp is None or stamp <= since):
                continue
            entries.append({"timestamp": match.group(1), "source": match.group(2), "dyno": match.group(3),
                            "message": match.group(4)})
            last = match.group(1)
        elif since is not None or not line:
            continue
        lines.append(line)
        if params["tail_seconds"] > 0 and time.monotonic() > deadline:
            break
    return {"lines": lines, "entries": entries, "last_timestamp": last}


def main():
    argument_spec = heroku_argument_spec()
    argument_spec.update({
        "app": {"type": "str", "required": True},
        "lines": {"type": "int", "default": 100},
        "source": {"type": "str"},
        "process_type": {"type": "str"},
        "dyno": {"type": "str"},
        "since": {"type": "str"},
        "tail_seconds": {"type": "int", "default": 0},
    })
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[("process_type", "dyno")])
    params = module.params
    problems = []
    if not 1 <= params["lines"] <= 1500:
        problems.append(f"lines: must be from 1 to 1500, got {params['lines']}")
    if params["since"] is not None and parse_time(params["since"]) is None:
        problems.append(f"since: '{params['since']}' is not an ISO 8601 time with a zone, such as 2026-11-22T14:00:00Z")
    if params["tail_seconds"] < 0:
        problems.append(f"tail_seconds: must be 0 or more, got {params['tail_seconds']}")
    if problems:
        module.fail_json(msg="; ".join(problems))
    client = HerokuClient(module)
    try:
        result = read(module, client)
    except HerokuError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
