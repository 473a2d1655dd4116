#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_release
short_description: List a Heroku app's releases and roll back to one (C(heroku releases), C(heroku rollback))
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Returns the app's releases, newest first, and its current release.
  - With O(rollback_to), makes the app run that release again. Heroku does this with a new release
    (C(Rollback to vN)) that has the slug and the config vars of release N.
  - The rollback is skipped when the current release already runs the slug and the config vars of release N, so a
    second run reports no change.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.heroku
  - jvmops.deploy.heroku.app
attributes:
  diff_mode:
    support: full
    details: The current release's version, slug and description, before and after.
  idempotent:
    support: full
    description: A rollback to the release that already runs changes nothing.
options:
  rollback_to:
    description:
      - The version of the release to go back to (the N of C(vN)). Without it the module only reads.
    type: int
  limit:
    description:
      - How many releases to return, newest first. V(0) returns them all.
    type: int
    default: 20
seealso:
  - module: jvmops.deploy.heroku_deploy
"""

EXAMPLES = r"""
- name: Read the releases
  jvmops.deploy.heroku_release:
    app: glacial-tundra-7926
  register: releases

- name: Roll back to the release before the current one
  jvmops.deploy.heroku_release:
    app: glacial-tundra-7926
    rollback_to: "{{ releases.current.version - 1 }}"
"""

RETURN = r"""
releases:
  description: The newest O(limit) releases, newest first, after the run.
  type: list
  elements: dict
  returned: always
  sample: [{"version": 6, "description": "Rollback to v4", "current": true, "slug": {"id": "01234567-89ab-cdef-0123-456789abcdef"}}]
current:
  description: The current release after the run (in check mode, the one that runs now).
  type: dict
  returned: when the app has releases
  sample: {"version": 6, "description": "Rollback to v4", "current": true}
target:
  description: The release given by O(rollback_to).
  type: dict
  returned: when O(rollback_to) is given
  sample: {"version": 4, "description": "Deploy 1.0.0"}
"""

from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import (
    HerokuModule, HerokuOptionError, current_release, releases)


def check_options(params):
    problems = []
    if params["rollback_to"] is not None and params["rollback_to"] < 1:
        problems.append(f"rollback_to: must be a release version (1 or more), got {params['rollback_to']}")
    if params["limit"] < 0 or params["limit"] > 1000:
        problems.append(f"limit: must be from 0 (all) to 1000, got {params['limit']}")
    return problems


def view(release):
    if not release:
        return {}
    return {"version": release.get("version"), "description": release.get("description"),
            "slug": ((release.get("slug") or {}).get("id"))}


def rollback(module, client):
    params = module.params
    app = params["app"]
    client.get("/apps/{app}", app=app)
    current = current_release(client, app)
    result = {}
    changed = False
    if params["rollback_to"] is not None:
        version = params["rollback_to"]
        target = client.get_or_none("/apps/{app}/releases/{version}", app=app, version=version)
        if target is None:
            raise HerokuOptionError("rollback_to", f"app '{app}' has no release v{version} (the current one is "
                                                   f"v{(current or {}).get('version')})")
        if not (target.get("slug") or {}).get("id"):
            raise HerokuOptionError("rollback_to", f"release v{version} of app '{app}' has no slug (nothing was deployed "
                                                   "in it), so there is nothing to roll back to")
        result["target"] = target
        same_slug = (current.get("slug") or {}).get("id") == target["slug"]["id"]
        same_config = False
        if same_slug:
            config_of = "/apps/{app}/releases/{version}/config-vars"
            same_config = (client.get(config_of, app=app, version=current["version"])
                           == client.get(config_of, app=app, version=version))
        if not (same_slug and same_config):
            changed = True
            before = view(current)
            if not module.check_mode:
                current = client.post("/apps/{app}/releases", {"release": target["id"]}, app=app)
            if module._diff:
                after = view(current) if not module.check_mode else {"version": before["version"] + 1,
                                                                     "description": f"Rollback to v{version}",
                                                                     "slug": target["slug"]["id"]}
                result["diff"] = {"before": before, "after": after}
    newest = releases(client, app, params["limit"])
    result["releases"] = newest
    current = next((r for r in newest if r.get("current")), None) or current_release(client, app)
    if current:
        result["current"] = current
    if module._diff and "diff" not in result:
        result["diff"] = {"before": view(current), "after": view(current)}
    return changed, result


def main():
    module = HerokuModule(argument_spec={
        "app": {"type": "str", "required": True},
        "rollback_to": {"type": "int"},
        "limit": {"type": "int", "default": 20},
    }, check_options=check_options, supports_check_mode=True)
    module.run(rollback)


if __name__ == "__main__":
    main()
