#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: appengine_version
short_description: List, stop, start, delete, prune and roll back the versions of a Google App Engine service
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Works on the versions of one App Engine service through the App Engine Admin API v1, as C(gcloud app versions)
    and C(gcloud app services set-traffic) do.
  - Without O(state), the module only reads. Every state reads the versions and the traffic split first, changes only what
    differs, and returns the versions as App Engine holds them afterwards.
  - A version that receives traffic is never deleted, neither by O(state=absent) nor by O(state=pruned).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.appengine
attributes:
  diff_mode:
    support: full
    details: The service's traffic split and the serving status of each version, before and after.
  idempotent:
    support: full
    description: >-
      A second run with the same options makes no call that writes. For O(state=rolled_back) without
      O(to_version), see there.
options:
  service:
    description:
      - The App Engine service (1 to 63 lower-case letters, digits and hyphens).
    type: str
    default: default
  state:
    description:
      - Not given, the module only reads, and returns the versions, newest first, with their share of the traffic
        and serving status (as every state does).
      - V(stopped) stops O(version), V(started) starts it again (from the same files). Stopping a version that
        receives traffic is done, with a warning, since its share of the requests then fails.
      - V(absent) deletes O(version). A version that receives traffic is refused; move its traffic first.
        A version that does not exist is no change.
      - V(pruned) deletes the oldest versions beyond the newest O(keep), except those that receive traffic and
        those named in O(protect).
      - V(rolled_back) moves all traffic to O(to_version), or when it is not given, to the version before the
        current one. The current one is the newest version that receives traffic; the version before it is the
        newest older version that is serving or stopped (it is started first when stopped).
      - When a version newer than the one that has all the traffic exists (the one rolled back from, or a version
        deployed without promotion), the service counts as rolled back already and nothing changes, so a second
        run does not roll back one more version. Give O(to_version) to go further back.
    type: str
    choices: [stopped, started, absent, pruned, rolled_back]
  version:
    description:
      - The version id for O(state=stopped), O(state=started) and O(state=absent).
    type: str
  keep:
    description:
      - For O(state=pruned), how many of the newest versions to keep (1 or more), whatever their status.
    type: int
  protect:
    description:
      - For O(state=pruned), version ids never deleted, wherever they are in the order.
    type: list
    elements: str
    default: []
  to_version:
    description:
      - For O(state=rolled_back), the version to move all traffic to. It must exist; it is started when stopped.
    type: str
  stop_previous:
    description:
      - For O(state=rolled_back), stop the versions that received traffic before and receive none after.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for each operation (a stop, a start, a deletion, the traffic split).
    type: int
    default: 600
notes:
  - Versions are ordered by their creation time, then by id.
  - C(gcloud app versions stop) and C(start) document stopping and starting for versions with manual scaling.
    Where App Engine refuses to stop or start a version, the task fails with Google's message.
seealso:
  - module: jvmops.deploy.appengine_deploy
  - name: App Engine Admin API, apps.services.versions
    description: The calls the module makes.
    link: https://cloud.google.com/appengine/docs/admin-api/reference/rest/v1/apps.services.versions
"""

EXAMPLES = r"""
- name: List the versions of the default service
  jvmops.deploy.appengine_version:
    project: my-project-123
  register: listed

- name: Show each version with its share of the traffic
  ansible.builtin.debug:
    msg: "{{ item.id }} {{ item.serving_status }} {{ item.traffic }}"
  loop: "{{ listed.versions }}"
  loop_control:
    label: "{{ item.id }}"

- name: Roll back to the version that served before the last deploy, and stop the one rolled back from
  jvmops.deploy.appengine_version:
    project: my-project-123
    state: rolled_back
    stop_previous: true

- name: Move all traffic to v1
  jvmops.deploy.appengine_version:
    project: my-project-123
    state: rolled_back
    to_version: v1

- name: Keep the three newest versions, the ones with traffic, and v1
  jvmops.deploy.appengine_version:
    project: my-project-123
    state: pruned
    keep: 3
    protect: [v1]

- name: Stop a version
  jvmops.deploy.appengine_version:
    project: my-project-123
    service: api
    state: stopped
    version: v2

- name: Delete a version that receives no traffic
  jvmops.deploy.appengine_version:
    project: my-project-123
    state: absent
    version: v2
"""

RETURN = r"""
versions:
  description:
    - The versions of the service after the task, newest first, as App Engine returns them (without their file
      list), environment variable values masked, with C(traffic), their share of the traffic (0 to 1).
    - In check mode, the versions as they would be.
  returned: success
  type: list
  elements: dict
  sample: [{"id": "v2", "serving_status": "SERVING", "traffic": 1.0, "create_time": "2026-02-01T10:00:00.123456Z",
            "runtime": "java17", "version_url": "https://v2-dot-default-dot-my-project-123.uc.r.appspot.com"},
           {"id": "v1", "serving_status": "STOPPED", "traffic": 0.0, "create_time": "2026-01-20T09:00:00.654321Z",
            "runtime": "java17", "version_url": "https://v1-dot-default-dot-my-project-123.uc.r.appspot.com"}]
split_before:
  description: The service's traffic allocations before the task, a version id to a fraction.
  returned: success
  type: dict
  sample: {"v2": 1.0}
split:
  description: The service's traffic allocations after the task (in check mode, as they would be).
  returned: success
  type: dict
  sample: {"v1": 1.0}
deleted:
  description: The versions deleted (in check mode, that would be), oldest first.
  returned: success
  type: list
  elements: str
  sample: [v0]
stopped:
  description: The versions stopped (in check mode, that would be).
  returned: success
  type: list
  elements: str
  sample: [v2]
started:
  description: The versions started (in check mode, that would be).
  returned: success
  type: list
  elements: str
  sample: [v1]
rolled_back_to:
  description: The version that has all the traffic after the rollback.
  returned: when O(state=rolled_back)
  type: str
  sample: v1
rolled_back_from:
  description:
    - The newest version that received traffic before, when the rollback moved traffic and it is another one than
      RV(rolled_back_to); else null.
  returned: when O(state=rolled_back)
  type: str
  sample: v2
"""

from ansible_collections.jvmops.deploy.plugins.module_utils._appengine import (
    AppEngineModule,
    AppEngineModuleError,
    enum_name,
    resource_id_problem,
    version_result,
)

NEEDS_VERSION = ("stopped", "started", "absent")
# Versions that can serve again: serving, or stopped and started first.
CAN_SERVE = ("SERVING", "STOPPED")


def check_options(params):
    """Every problem of the options, before any call."""
    problems = []
    state = params["state"]
    where = f"not state={state}" if state else "and state is not given (the module only reads)"
    for option in ("service", "version", "to_version"):
        if params.get(option):
            problem = resource_id_problem(option, params[option])
            if problem:
                problems.append(problem)
    for name in params.get("protect") or []:
        problem = resource_id_problem("protect", name)
        if problem:
            problems.append(problem)
    if state in NEEDS_VERSION and not params.get("version"):
        problems.append(f"version: state={state} needs the version to change")
    if state not in NEEDS_VERSION and params.get("version"):
        hint = " (give to_version)" if state == "rolled_back" else ""
        problems.append(f"version: only for state=stopped, started or absent, {where}{hint}")
    if state == "pruned":
        if params.get("keep") is None:
            problems.append("keep: state=pruned needs how many of the newest versions to keep")
        elif params["keep"] < 1:
            problems.append(f"keep: must be 1 or more, got {params['keep']}")
    else:
        for option in ("keep", "protect"):
            if params.get(option):
                problems.append(f"{option}: only for state=pruned, {where}")
    if state != "rolled_back":
        for option in ("to_version", "stop_previous"):
            if params.get(option):
                problems.append(f"{option}: only for state=rolled_back, {where}")
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 1:
        problems.append(f"wait_timeout: must be 1 or more seconds, got {params['wait_timeout']}")
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Reading


def _created(version):
    """The creation time of a version as a sortable value (proto-plus gives a datetime; unset sorts first)."""
    value = version.create_time
    return value.isoformat() if value else ""


def read(client, project, service):
    """(versions oldest first, their rows by id, the traffic split) of the service; no service is no versions."""
    versions = sorted(client.list_versions(project, service), key=lambda v: (_created(v), v.id))
    rows = {}
    for version in versions:
        row = version_result(version)
        row["serving_status"] = enum_name(version.serving_status)
        rows[version.id] = row
    found = client.get_service(project, service)
    split = {}
    if found is not None and found.split:
        split = {key: round(float(value), 2) for key, value in found.split.allocations.items()}
    return [version.id for version in versions], rows, split


def shown(order, rows, split):
    """The versions newest first, each with its share of the traffic."""
    return [dict(rows[vid], traffic=split.get(vid, 0.0)) for vid in reversed(order)]


def statuses(order, rows):
    return {vid: rows[vid]["serving_status"] for vid in order}


def _listing(order):
    return ", ".join(reversed(order)) or "none"


# ---------------------------------------------------------------------------------------------------------------
# Planning: what to start, which split, what to stop and delete (nothing is written here)


class Plan:
    def __init__(self):
        self.start = []
        self.split = None
        self.stop = []
        self.delete = []
        self.extra = {}

    def changes(self):
        return bool(self.start or self.split is not None or self.stop or self.delete)


def plan_one(module, order, rows, split):
    """stopped, started, absent: one version."""
    params = module.params
    state, vid, service = params["state"], params["version"], params["service"]
    plan = Plan()
    if vid not in rows:
        if state == "absent":
            return plan
        raise AppEngineModuleError(f"version: service '{service}' has no version '{vid}' (it has: {_listing(order)})")
    status = rows[vid]["serving_status"]
    if state == "absent":
        if split.get(vid):
            raise AppEngineModuleError(
                f"Refusing to delete version '{vid}' of service '{service}': it receives {split[vid]:.0%} of the "
                f"traffic (split {split}). Move its traffic to other versions first (state=rolled_back with "
                "to_version, or appengine_deploy), then delete it.", split_before=split)
        plan.delete.append(vid)
    elif state == "stopped" and status != "STOPPED":
        if split.get(vid):
            module.warn(f"Version '{vid}' of service '{service}' receives {split[vid]:.0%} of the traffic; those "
                        "requests fail while it is stopped.")
        plan.stop.append(vid)
    elif state == "started" and status != "SERVING":
        plan.start.append(vid)
    return plan


def plan_prune(module, order, rows, split):
    params = module.params
    keep = set(list(reversed(order))[:params["keep"]]) | set(split) | set(params["protect"] or [])
    plan = Plan()
    plan.delete = [vid for vid in order if vid not in keep]
    return plan


def rollback_target(params, order, rows, split):
    """The version a rollback moves all traffic to."""
    service = params["service"]
    status = statuses(order, rows)
    if params.get("to_version"):
        target = params["to_version"]
        if target not in rows:
            raise AppEngineModuleError(f"to_version: service '{service}' has no version '{target}' "
                                       f"(it has: {_listing(order)})", split_before=split)
        if status[target] not in CAN_SERVE:
            raise AppEngineModuleError(f"to_version: version '{target}' of service '{service}' is "
                                       f"{status[target]} and cannot serve", split_before=split)
        return target
    with_traffic = [vid for vid in order if split.get(vid)]
    if not with_traffic:
        raise AppEngineModuleError(f"Service '{service}' has no version that receives traffic (versions: "
                                   f"{_listing(order)}), so there is none to roll back from; give to_version",
                                   split_before=split)
    current = with_traffic[-1]
    position = order.index(current)
    if split == {current: 1.0} and position < len(order) - 1:
        # A newer version exists without traffic: rolled back already (or never promoted). Nothing to do.
        return current
    older = [vid for vid in reversed(order[:position]) if status[vid] in CAN_SERVE]
    if not older:
        raise AppEngineModuleError(f"Service '{service}' has no version older than '{current}' that can serve "
                                   f"(versions: {_listing(order)}), so there is none to roll back to",
                                   split_before=split)
    return older[0]


def plan_rollback(module, order, rows, split):
    params = module.params
    target = rollback_target(params, order, rows, split)
    plan = Plan()
    if rows[target]["serving_status"] != "SERVING":
        plan.start.append(target)
    if split != {target: 1.0}:
        plan.split = {target: 1.0}
    if params["stop_previous"]:
        plan.stop = [vid for vid in order if split.get(vid) and vid != target and rows[vid]["serving_status"] == "SERVING"]
    with_traffic = [vid for vid in order if split.get(vid)]
    previous = with_traffic[-1] if with_traffic and plan.split is not None else None
    plan.extra = {"rolled_back_to": target, "rolled_back_from": previous if previous != target else None}
    return plan


PLANS = {"stopped": plan_one, "started": plan_one, "absent": plan_one, "pruned": plan_prune,
         "rolled_back": plan_rollback}


# ---------------------------------------------------------------------------------------------------------------
# The work


def apply(module, client, plan):
    """The writes, in an order that never leaves traffic on a stopped or deleted version."""
    params = module.params
    project, service, timeout = params["project"], params["service"], params["wait_timeout"]
    for vid in plan.start:
        client.set_serving_status(project, service, vid, "SERVING", timeout)
    if plan.split is not None:
        client.set_split(project, service, plan.split, timeout)
    for vid in plan.stop:
        client.set_serving_status(project, service, vid, "STOPPED", timeout)
    for vid in plan.delete:
        client.delete_version(project, service, vid, timeout)


def predict(order, rows, split, plan):
    """What a read would show after the plan (check mode)."""
    rows = {vid: dict(row) for vid, row in rows.items()}
    for vid in plan.start:
        rows[vid]["serving_status"] = "SERVING"
    for vid in plan.stop:
        rows[vid]["serving_status"] = "STOPPED"
    order = [vid for vid in order if vid not in plan.delete]
    return order, rows, dict(plan.split) if plan.split is not None else dict(split)


def versions(module, client):
    params = module.params
    project, service = params["project"], params["service"]
    order, rows, split = read(client, project, service)
    plan = PLANS[params["state"]](module, order, rows, split) if params["state"] else Plan()
    changed = plan.changes()
    if changed and not module.check_mode:
        apply(module, client, plan)
        after = read(client, project, service)
    elif changed:
        after = predict(order, rows, split, plan)
    else:
        after = (order, rows, split)
    result = {
        "versions": shown(*after),
        "split_before": split,
        "split": after[2],
        "deleted": plan.delete,
        "stopped": plan.stop,
        "started": plan.start,
    }
    if params["state"] == "rolled_back":
        result.update(rolled_back_to=plan.extra["rolled_back_to"], rolled_back_from=plan.extra["rolled_back_from"])
    if module._diff:
        result["diff"] = {"before": {"split": split, "versions": statuses(order, rows)},
                          "after": {"split": after[2], "versions": statuses(after[0], after[1])}}
    return changed, result


def main():
    argument_spec = {
        "service": {"type": "str", "default": "default"},
        "state": {"type": "str", "choices": ["stopped", "started", "absent", "pruned", "rolled_back"]},
        "version": {"type": "str"},
        "keep": {"type": "int"},
        "protect": {"type": "list", "elements": "str", "default": []},
        "to_version": {"type": "str"},
        "stop_previous": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 600},
    }
    module = AppEngineModule(argument_spec=argument_spec, check_options=check_options, supports_check_mode=True)
    module.run(versions)


if __name__ == "__main__":
    main()
