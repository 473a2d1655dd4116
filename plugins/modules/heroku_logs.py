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
  - jvmops.deploy.heroku.app
attributes:
  diff_mode:
    support: none
  idempotent:
    support: full
    description: It only reads.
options:
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

import time
from datetime import datetime

from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import HerokuModule, log_lines, parse_log_line


def parse_time(text):
    """An aware datetime from ISO 8601 text (Z or an offset); None when it is not one."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def check_options(params):
    problems = []
    if not 1 <= params["lines"] <= 1500:
        problems.append(f"lines: must be from 1 to 1500, got {params['lines']}")
    if params["since"] is not None and parse_time(params["since"]) is None:
        problems.append(f"since: '{params['since']}' is not an ISO 8601 time with a zone, such as 2026-11-22T14:00:00Z")
    if params["tail_seconds"] < 0:
        problems.append(f"tail_seconds: must be 0 or more, got {params['tail_seconds']}")
    return problems


def read(module, client):
    params = module.params
    body = {"lines": params["lines"], "tail": params["tail_seconds"] > 0}
    # Options that filter, by the schema's names for them.
    filters = (("source", "source"), ("process_type", "type"), ("dyno", "dyno_name"))
    body.update({field: params[option] for option, field in filters if params[option]})
    since = parse_time(params["since"]) if params["since"] else None
    timeout = params["tail_seconds"] if params["tail_seconds"] > 0 else client.timeout
    stream = log_lines(client, params["app"], body, timeout)
    deadline = time.monotonic() + params["tail_seconds"]
    lines, entries = [], []
    last = params["since"] or ""
    for line in stream:
        entry = parse_log_line(line)
        if entry:
            stamp = parse_time(entry["timestamp"])
            if since is not None and (stamp is None or stamp <= since):
                continue
            entries.append(entry)
            last = entry["timestamp"]
        elif since is not None or not line:
            continue
        lines.append(line)
        if params["tail_seconds"] > 0 and time.monotonic() > deadline:
            break
    return False, {"lines": lines, "entries": entries, "last_timestamp": last}


def main():
    module = HerokuModule(argument_spec={
        "app": {"type": "str", "required": True},
        "lines": {"type": "int", "default": 100},
        "source": {"type": "str"},
        "process_type": {"type": "str"},
        "dyno": {"type": "str"},
        "since": {"type": "str"},
        "tail_seconds": {"type": "int", "default": 0},
    }, check_options=check_options, supports_check_mode=True, mutually_exclusive=[("process_type", "dyno")])
    module.run(read)


if __name__ == "__main__":
    main()
